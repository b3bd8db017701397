/**
 * The one place where the client calls code it does not own: onProgress, onWarning, a
 * caller-supplied WebSocket's constructor and methods. A throw (or a rejected promise from an
 * async callback) never escapes as an uncaught exception or an unhandled rejection: it is handed
 * to `onThrow`, which fails the stream with the caller's own error, and such an error is never
 * retried by resume (see ReceiveStream#failWithUserError).
 */

/**
 * Calls `fn(arg)`. When it throws, or returns a promise that rejects, `onThrow` gets the error.
 * Allocates nothing unless the callee throws or returns a promise.
 */
export function callUserCode<A>(fn: (arg: A) => unknown, arg: A, onThrow: (error: unknown) => void): void {
  let returned: unknown;
  try {
    returned = fn(arg);
  } catch (error) {
    onThrow(error);
    return;
  }
  if (returned !== null && typeof returned === "object" && typeof (returned as Promise<unknown>).then === "function") {
    // An async callback's rejection would otherwise be an unhandled rejection.
    (returned as Promise<unknown>).then(undefined, onThrow);
  }
}

/**
 * Runs a call whose failure cannot change an outcome already decided (closing a socket that is
 * going away, cancelling a reader of a stream that already failed). The error is dropped on
 * purpose: the caller has its result or its error already, and a second one has nowhere to go.
 */
export function quietly(fn: () => unknown): void {
  try {
    const returned = fn();
    if (
      returned !== null &&
      typeof returned === "object" &&
      typeof (returned as Promise<unknown>).then === "function"
    ) {
      (returned as Promise<unknown>).then(undefined, () => {});
    }
  } catch {
    // See above: nothing to report it to.
  }
}
