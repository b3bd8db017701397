/**
 * subscribe(): follow a live array (docs/PROTOCOL.md §17). The subscription receives what the
 * array holds, then every append, into a resizable ArrayBuffer that grows in place, and calls
 * onAppend each time the bytes the server announced have all arrived. It runs on the WebSocket
 * transport (client/connection.ts): a BYOB read cannot fill a resizable buffer, and HTTP has no
 * way to announce growth. The core is client/live-receiver.ts.
 */
import {
  assertLittleEndianHost,
  DEFAULT_MAX_TOTAL_BYTES,
  encodeCredit,
  encodeName,
  encodeRequest,
  type JsonObject,
  ProtocolError,
  SUBPROTOCOL,
  type TypedArray,
} from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { ArrayClient, openStreamOn } from "./connection.ts";
import { LiveReceiver, type LiveUpdate, type SubscribeRequest } from "./live-receiver.ts";
import type { ConnectOptions } from "./options.ts";
import { isResizableBuffer } from "./resizable.ts";
import {
  checksumOption,
  functionOption,
  integerOption,
  paramsOption,
  rangeOption,
  resolveConnectOptions,
  resolveEndpoint,
  resolveFlowOptions,
  shown,
  signalOption,
} from "./resolve-options.ts";

export type { LiveUpdate } from "./live-receiver.ts";

/** Options of {@link subscribe}. */
export interface SubscribeOptions<T extends TypedArray = TypedArray> extends ConnectOptions {
  /**
   * Called each time the bytes the server announced have all arrived: first with what the array
   * held, then once per GROW (one GROW may carry several appends when the subscriber is behind).
   * If it throws, the subscription fails with that error.
   */
  onAppend?: (update: LiveUpdate<T>) => void;
  /** Ends the subscription; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * A resizable ArrayBuffer (`new ArrayBuffer(n, { maxByteLength })`) to receive into, from byte
   * 0; it is grown as the array grows. Past its maxByteLength the subscription fails with
   * E_TARGET_MISMATCH. Defaults to one the client reserves.
   */
  into?: ArrayBuffer;
  /**
   * Elements [start, end) of the flattened array: start at most the array's length now, end at
   * most its capacity; the subscription ends once element end - 1 arrived. Defaults to the whole
   * array, from element 0 until it is closed.
   */
  range?: readonly [number, number];
  /** Source parameters, as for a fetch (a live array ignores them). */
  params?: JsonObject;
  /** Most bytes this subscription agrees to hold. Defaults to 2_147_483_648 (2 GiB): past it, E_TOO_LARGE. */
  maxBytes?: number;
  /** Chunk size to ask for. Defaults to 1 MiB in browsers and 4 MiB in Node. */
  chunkByteLength?: number;
  /** Credit window. Defaults to max(16 MiB, 2 x chunkByteLength); 0 turns credit off (not advised). */
  creditByteLength?: number;
  /** Checksum checked at END, as for a fetch: true (XXH32, the default), "crc32c", or false. */
  verify?: boolean | "xxh32" | "crc32c" | "none";
  /**
   * Fail with E_TIMEOUT when no byte (or GROW) arrived for this long. A live array may be quiet
   * for as long as it likes, so this is off (0) by default; set it when yours appends regularly.
   */
  idleTimeoutMs?: number;
}

/**
 * Validates subscribe options.
 * @throws {TypeError} / {RangeError} for an option of the wrong type or out of range.
 */
export function resolveSubscribeOptions(name: unknown, options: SubscribeOptions): SubscribeRequest {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid options: expected an object, got ${shown(options)}`);
  }
  encodeName(name, (message) => (typeof name === "string" ? new RangeError(message) : new TypeError(message)));
  const { chunkByteLength, creditByteLength } = resolveFlowOptions(options);
  if (options.into !== undefined && !isResizableBuffer(options.into)) {
    throw new TypeError(
      `Invalid into: expected a resizable ArrayBuffer (new ArrayBuffer(n, { maxByteLength })), got ${shown(options.into)}`,
    );
  }
  return {
    name: name as string,
    params: paramsOption(options.params),
    range: rangeOption(options.range),
    chunkByteLength,
    creditByteLength,
    checksum: checksumOption(options.verify),
    maxBytes: integerOption("maxBytes", options.maxBytes, DEFAULT_MAX_TOTAL_BYTES, 0, Number.MAX_SAFE_INTEGER),
    into: options.into as SubscribeRequest["into"],
    onAppend: functionOption("onAppend", options.onAppend),
    idleTimeoutMs: integerOption("idleTimeoutMs", options.idleTimeoutMs, 0, 0, 2 ** 31 - 1),
    signal: signalOption(options.signal),
  };
}

/**
 * Subscribes to the live array `name`: resolves once it ended (the server closed the array, or
 * the range's end was reached) with the whole range received, as {@link fetchArray} would give
 * it; meanwhile `onAppend` sees every growth. `target` is the endpoint URL
 * (`ws://host:port/arraywire`; a connection is opened for the subscription and closed with it),
 * or an open {@link ArrayClient} (the subscription is one more stream on it). Subscribing to a
 * name that is not live gives the array and ends at once.
 * @throws {TypeError} / {RangeError} (rejects, before any I/O) for invalid options.
 * @throws {@link StreamError} (rejects) with the server's code (E_UNKNOWN_NAME, E_BAD_RANGE,
 *   E_SLOW_CONSUMER, E_TIMEOUT...), or E_TOO_LARGE, E_TARGET_MISMATCH, E_CHECKSUM,
 *   E_INCOMPLETE, E_PROTOCOL, E_CONNECTION_CLOSED; a server without live arrays refuses with
 *   E_RESERVED.
 * @throws (rejects) the signal's reason when aborted; what onAppend throws.
 */
export async function subscribe<T extends TypedArray = TypedArray>(
  target: string | URL | ArrayClient,
  name: string,
  options: SubscribeOptions<T> = {},
): Promise<ArrayResult<T>> {
  assertLittleEndianHost();
  const request = resolveSubscribeOptions(name, options as SubscribeOptions);
  const receiver = new LiveReceiver(request);
  if (receiver.done) return (await receiver.promise) as ArrayResult<T>;
  if (target instanceof ArrayClient) {
    subscribeOn(target, receiver, false);
  } else {
    const connect = resolveConnectOptions(options, SUBPROTOCOL);
    const endpoint = resolveEndpoint(target);
    const controller = new AbortController();
    receiver.onRelease(() => controller.abort());
    let client: ArrayClient;
    try {
      const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
      client = await ArrayClient.connect(endpoint, { ...connect, signal });
    } catch (err) {
      receiver.fail(err);
      return (await receiver.promise) as ArrayResult<T>;
    }
    if (receiver.done) client.close();
    else subscribeOn(client, receiver, true);
  }
  return (await receiver.promise) as ArrayResult<T>;
}

/** Runs `receiver` as one stream on `client`. */
function subscribeOn(client: ArrayClient, receiver: LiveReceiver, ownsConnection: boolean): void {
  const { request } = receiver;
  const window = request.creditByteLength;
  let consumedSinceGrant = 0;
  openStreamOn(
    client,
    (port) => {
      receiver.streamId = port.streamId;
      receiver.onRelease((failed) => port.release(failed));
      return {
        message: (message) => {
          if (message.type === "ARRAY_HEADER") receiver.header(message);
          else if (message.type === "GROW") receiver.grow(message);
          else if (message.type === "END") receiver.end(message);
          else receiver.fail(new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} on a subscription`));
        },
        payload: (data, payload) => {
          receiver.write(data.byteOffset, payload);
          if (receiver.done) return;
          consumedSinceGrant += payload.byteLength;
          if (window > 0 && consumedSinceGrant >= window / 4) {
            port.send(encodeCredit(port.streamId, consumedSinceGrant));
            consumedSinceGrant = 0;
          }
        },
        fail: (error) => receiver.fail(error),
      };
    },
    (streamId) =>
      encodeRequest({
        streamId,
        name: request.name,
        params: request.params,
        range: request.range,
        chunkByteLength: request.chunkByteLength,
        creditByteLength: request.creditByteLength,
        checksum: request.checksum,
        resumeByteOffset: 0,
        expectedGeneration: null,
        subscribe: true,
      }),
    ownsConnection,
  );
}
