/**
 * The uploads of one connection (docs/PROTOCOL.md §16): a PUT is checked and put to the
 * `onUpload` hook before any payload is read, then answered with ACCEPT (the upload id, where to
 * start, the first credit); DATA + payload pairs are written straight into the target at their
 * offset and hashed; credit is granted back as bytes are written, so the client can never have
 * more than the window in flight; END is checked against every byte and the checksum, and only
 * then is the upload handed to `onUploaded`, published if the hook asked, and acknowledged with
 * END. A cut or stalled upload is parked for a resume; a bad one is discarded. The connection
 * routes messages here (connection.ts) and closes with 1008 a client that sends past its credit.
 */
import type { IncomingMessage } from "node:http";
import {
  type ArrayHeaderMessage,
  type DataMessage,
  DTYPE_BYTES_PER_ELEMENT,
  dtypeOf,
  type EndMessage,
  encodeAccept,
  encodeCredit,
  encodeEnd,
  isDtypeSupported,
  readPutFields,
  StreamError,
  type TypedArray,
  typedArrayConstructor,
  type WireErrorCode,
} from "../shared/index.ts";
import type { Hooks } from "./hooks.ts";
import type { UploadDecision, UploadResult, UploadSettings } from "./upload-options.ts";
import type { Upload, UploadStore } from "./upload-store.ts";

/** What the channel needs from its connection and server. */
export interface ChannelContext {
  readonly settings: UploadSettings;
  readonly store: UploadStore;
  readonly hooks: Hooks;
  readonly req: IncomingMessage;
  /** Sends a control reply (ACCEPT, CREDIT, END); false when the peer floods. */
  reply(bytes: Uint8Array): boolean;
  sendError(streamId: number, code: WireErrorCode, message: string): void;
  /** Closes the connection with 1008: the peer broke a rule no ERROR can answer (credit). */
  violate(reason: string): void;
  /** Publishes a verified upload under its name (ArrayServer.publish). */
  publish(name: string, array: TypedArray, shape: number[], meta: Upload["meta"]): void;
}

/** An upload this connection is receiving. */
interface Attached {
  readonly upload: Upload;
  /** Where this attempt started (the ACCEPT's firstByteOffset). */
  readonly firstByteOffset: number;
  /** Payload bytes the client may still send before the next grant. */
  credit: number;
  consumedSinceGrant: number;
  lastProgressAt: number;
  /** Byte length of the payload a DATA announced, until it arrives. */
  expected: number;
  /** True once END arrived and the upload is being finished (onUploaded runs). */
  ending: boolean;
}

/** What the connection does with the message after a client DATA. */
export type DataOutcome = "payload" | "skip" | "not-an-upload";

export class UploadChannel {
  readonly #ctx: ChannelContext;
  readonly #attached = new Map<number, Attached>();
  /** PUTs whose onUpload hook is running, aborted by CANCEL or the connection's end. */
  readonly #pending = new Map<number, AbortController>();
  #closed = false;

  constructor(ctx: ChannelContext) {
    this.#ctx = ctx;
  }

  /** Uploads on this connection: receiving, finishing, or waiting for the hook. */
  get size(): number {
    return this.#attached.size + this.#pending.size;
  }

  has(streamId: number): boolean {
    return this.#attached.has(streamId) || this.#pending.has(streamId);
  }

  /** Answers a PUT: resumes the upload it names, or asks onUpload about a new one. */
  async put(put: ArrayHeaderMessage): Promise<void> {
    const { streamId } = put;
    const controller = new AbortController();
    this.#pending.set(streamId, controller);
    let upload: Upload;
    try {
      upload = put.generation !== 0 ? this.#resume(put) : await this.#create(put, controller.signal);
    } catch (err) {
      if (this.#pending.get(streamId) !== controller) return; // cancelled or closed meanwhile
      this.#pending.delete(streamId);
      const { code, message } = this.#ctx.hooks.errorReply(err, `upload of ${JSON.stringify(put.name)}`);
      this.#ctx.sendError(streamId, code, message);
      return;
    }
    if (this.#pending.get(streamId) !== controller || this.#closed) {
      // Cancelled while the hook ran: a new upload is dropped, a resumed one is kept.
      if (put.generation === 0) this.#ctx.store.discard(upload);
      else this.#ctx.store.park(upload);
      return;
    }
    this.#pending.delete(streamId);
    const { settings } = this.#ctx;
    const attached: Attached = {
      upload,
      firstByteOffset: upload.receivedByteLength,
      credit: settings.windowByteLength,
      consumedSinceGrant: 0,
      lastProgressAt: performance.now(),
      expected: 0,
      ending: false,
    };
    this.#attached.set(streamId, attached);
    upload.detach = () => this.#attached.delete(streamId);
    this.#ctx.reply(
      encodeAccept({
        streamId,
        uploadId: upload.id,
        firstByteOffset: upload.receivedByteLength,
        creditByteLength: settings.windowByteLength,
        maxPayloadByteLength: settings.maxPayloadByteLength,
      }),
    );
  }

  /** The checks every PUT passes first. @throws {@link StreamError} */
  #check(put: ArrayHeaderMessage): ReturnType<typeof readPutFields> {
    const fields = readPutFields(put);
    const { streamId } = put;
    if (put.checksumAlgorithm === "none") {
      throw new StreamError(
        "E_BAD_REQUEST",
        "Invalid PUT: uploads need a checksum, xxh32 or crc32c; got none",
        streamId,
      );
    }
    if (!isDtypeSupported(put.dtype)) {
      throw new StreamError("E_BAD_REQUEST", `Invalid PUT: this server cannot hold ${put.dtype} arrays`, streamId);
    }
    const max = this.#ctx.settings.maxUploadByteLength;
    if (put.totalByteLength > max) {
      throw new StreamError(
        "E_TOO_LARGE",
        `Upload too large: expected at most ${max} bytes (maxUploadByteLength), got ${put.totalByteLength}`,
        streamId,
      );
    }
    return fields;
  }

  #resume(put: ArrayHeaderMessage): Upload {
    this.#check(put);
    const { store } = this.#ctx;
    const upload = store.take(put.generation, put.streamId);
    const same =
      upload.name === put.name &&
      upload.dtype === put.dtype &&
      upload.byteLength === put.totalByteLength &&
      upload.checksumAlgorithm === put.checksumAlgorithm &&
      upload.shape.length === put.shape.length &&
      upload.shape.every((d, i) => d === put.shape[i]);
    if (!same) {
      store.park(upload); // still there for the client it belongs to
      throw new StreamError(
        "E_BAD_REQUEST",
        `Invalid PUT: upload ${put.generation} is of another array (name, dtype, shape or checksum differ)`,
        put.streamId,
      );
    }
    return upload;
  }

  async #create(put: ArrayHeaderMessage, signal: AbortSignal): Promise<Upload> {
    const { meta, params } = this.#check(put);
    const { streamId, dtype, totalByteLength: byteLength } = put;
    const decision = await this.#ctx.hooks.decideUpload(this.#ctx.settings.onUpload, {
      name: put.name,
      dtype,
      shape: [...put.shape],
      byteLength,
      meta,
      params,
      checksumAlgorithm: put.checksumAlgorithm,
      req: this.#ctx.req,
      signal,
    });
    if (decision === false) {
      throw new StreamError("E_UPLOAD_REFUSED", "Upload refused by the server (its onUpload hook said no)", streamId);
    }
    signal.throwIfAborted();
    const { store } = this.#ctx;
    let array: TypedArray;
    let reserved = 0;
    if ("into" in decision) {
      array = intoTarget(decision, dtype, byteLength);
    } else {
      store.reserve(byteLength, streamId); // E_BUSY before anything is allocated
      reserved = byteLength;
      try {
        array = new (typedArrayConstructor(dtype))(byteLength / DTYPE_BYTES_PER_ELEMENT[dtype]);
      } catch (err) {
        store.unreserve(byteLength);
        throw err;
      }
    }
    return store.create({
      name: put.name,
      dtype,
      shape: [...put.shape],
      byteLength,
      meta,
      params,
      checksumAlgorithm: put.checksumAlgorithm,
      bytes: new Uint8Array(array.buffer, array.byteOffset, byteLength),
      array,
      publish: decision.publish === true,
      reservedByteLength: reserved,
    });
  }

  /** Checks a DATA of this connection's uploads; says what the next message is. */
  data(message: DataMessage): DataOutcome {
    const attached = this.#attached.get(message.streamId);
    if (attached === undefined) {
      if (!this.#pending.has(message.streamId)) return "not-an-upload";
      // Before its ACCEPT an upload has no credit at all.
      this.drop(message.streamId);
      this.#ctx.violate(`sent DATA for upload stream ${message.streamId} before its ACCEPT (no credit yet)`);
      return "skip";
    }
    const { upload } = attached;
    const { streamId, byteOffset, payloadByteLength } = message;
    if (payloadByteLength > attached.credit) {
      this.#discard(streamId);
      this.#ctx.violate(`sent ${payloadByteLength} bytes with ${attached.credit} bytes of credit left`);
      return "skip";
    }
    if (
      attached.ending ||
      byteOffset !== upload.receivedByteLength ||
      byteOffset + payloadByteLength > upload.byteLength
    ) {
      this.#fail(
        streamId,
        "E_BAD_RANGE",
        `Invalid DATA: expected bytes from ${upload.receivedByteLength} up to ${upload.byteLength} (the declared length), got [${byteOffset}, ${byteOffset + payloadByteLength})`,
      );
      return "skip";
    }
    attached.credit -= payloadByteLength;
    attached.expected = payloadByteLength;
    return "payload";
  }

  /** The payload a DATA announced: written at its offset, hashed, and credited back. */
  payload(streamId: number, bytes: Uint8Array | string): void {
    const attached = this.#attached.get(streamId);
    if (attached === undefined) return; // ended meanwhile
    if (typeof bytes === "string" || bytes.byteLength !== attached.expected) {
      const got = typeof bytes === "string" ? "a text message" : `${bytes.byteLength} bytes`;
      this.#fail(streamId, "E_BAD_LENGTH", `Invalid payload: expected ${attached.expected} bytes, got ${got}`);
      return;
    }
    const { upload } = attached;
    const at = upload.receivedByteLength;
    upload.bytes.set(bytes, at);
    upload.hash.update(upload.bytes.subarray(at, at + bytes.byteLength));
    upload.receivedByteLength += bytes.byteLength;
    attached.lastProgressAt = performance.now();
    attached.consumedSinceGrant += bytes.byteLength;
    const { windowByteLength } = this.#ctx.settings;
    if (attached.consumedSinceGrant >= windowByteLength / 4 && upload.receivedByteLength < upload.byteLength) {
      attached.credit += attached.consumedSinceGrant;
      this.#ctx.reply(encodeCredit(streamId, attached.consumedSinceGrant));
      attached.consumedSinceGrant = 0;
    }
  }

  /** The client's END: every byte and the checksum are checked before anything else happens. */
  end(message: EndMessage): boolean {
    const attached = this.#attached.get(message.streamId);
    if (attached === undefined || attached.ending) return attached !== undefined;
    const { upload } = attached;
    const { streamId } = message;
    const sent = upload.byteLength - attached.firstByteOffset;
    if (upload.receivedByteLength !== upload.byteLength || message.byteLength !== sent) {
      this.#fail(
        streamId,
        "E_INCOMPLETE",
        `Upload ended early: expected ${sent} bytes from ${attached.firstByteOffset}, received ${upload.receivedByteLength - attached.firstByteOffset} (END says ${message.byteLength})`,
      );
      return true;
    }
    const computed = upload.hash.digest();
    if (message.checksumAlgorithm !== upload.checksumAlgorithm || message.checksum !== computed) {
      this.#fail(
        streamId,
        "E_CHECKSUM",
        `Checksum mismatch: the server computed ${upload.checksumAlgorithm} 0x${computed.toString(16)}, END says ${message.checksumAlgorithm} 0x${message.checksum.toString(16)}; nothing was kept`,
      );
      return true;
    }
    attached.ending = true;
    void this.#complete(streamId, attached, computed, message.byteLength);
    return true;
  }

  async #complete(streamId: number, attached: Attached, checksum: number, byteLength: number): Promise<void> {
    const { upload } = attached;
    const { hooks, settings, store } = this.#ctx;
    const result: UploadResult = {
      name: upload.name,
      dtype: upload.dtype,
      shape: upload.shape,
      byteLength: upload.byteLength,
      meta: upload.meta,
      params: upload.params,
      array: upload.array,
      checksumAlgorithm: upload.checksumAlgorithm,
      checksum,
      published: upload.publish,
      req: this.#ctx.req,
    };
    try {
      await hooks.uploaded(settings.onUploaded, result);
      if (upload.publish) this.#ctx.publish(upload.name, upload.array, upload.shape, upload.meta);
    } catch (err) {
      if (this.#attached.get(streamId) !== attached) return;
      const { code, message } = hooks.errorReply(err, `onUploaded for ${JSON.stringify(upload.name)}`);
      this.#fail(streamId, code, message);
      return;
    }
    store.finish(upload);
    if (this.#attached.get(streamId) !== attached) return;
    this.#attached.delete(streamId);
    this.#ctx.reply(encodeEnd({ streamId, byteLength, checksumAlgorithm: upload.checksumAlgorithm, checksum }));
  }

  /** Ends an upload (CANCEL, a bad message naming it, an id reused): discarded, nothing kept. */
  drop(streamId: number): void {
    this.#pending.get(streamId)?.abort();
    this.#pending.delete(streamId);
    this.#discard(streamId);
  }

  /**
   * Uploads that made no progress for `timeoutMs` get E_TIMEOUT and are parked for a resume
   * (their bytes are good; only the client went quiet).
   */
  checkStalls(now: number, timeoutMs: number): void {
    for (const [streamId, attached] of [...this.#attached]) {
      if (attached.ending || now - attached.lastProgressAt <= timeoutMs) continue;
      this.#attached.delete(streamId);
      this.#ctx.store.park(attached.upload);
      this.#ctx.sendError(
        streamId,
        "E_TIMEOUT",
        `Upload stalled: no bytes for ${timeoutMs} ms; it is kept for ${this.#ctx.settings.resumeTimeoutMs} ms, resume it with its upload id`,
      );
    }
  }

  /** Sends E_SHUTDOWN on every upload (the server closes; it discards them all). */
  shutdown(): void {
    for (const streamId of [...this.#attached.keys(), ...this.#pending.keys()]) {
      this.#ctx.sendError(streamId, "E_SHUTDOWN", "Server is shutting down");
    }
  }

  /** The connection is gone: uploads being received are parked for a resume, pending hooks aborted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#pending.values()) controller.abort();
    this.#pending.clear();
    for (const attached of this.#attached.values()) {
      if (!attached.ending) this.#ctx.store.park(attached.upload);
    }
    this.#attached.clear();
  }

  #discard(streamId: number): void {
    const attached = this.#attached.get(streamId);
    if (attached === undefined) return;
    this.#attached.delete(streamId);
    this.#ctx.store.discard(attached.upload);
  }

  #fail(streamId: number, code: WireErrorCode, message: string): void {
    this.#discard(streamId);
    this.#ctx.sendError(streamId, code, message);
  }
}

/**
 * The hook's own target, checked: a typed array of the upload's dtype with room for it.
 * @throws {TypeError} otherwise (the hook's bug: E_INTERNAL for the client).
 */
function intoTarget(decision: { into: TypedArray }, dtype: string, byteLength: number): TypedArray {
  const { into } = decision;
  if (!ArrayBuffer.isView(into) || dtypeOf(into) !== dtype || into.byteLength < byteLength) {
    throw new TypeError(
      `onUpload returned an invalid into: expected a ${dtype} typed array of at least ${byteLength} bytes`,
    );
  }
  const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype as keyof typeof DTYPE_BYTES_PER_ELEMENT];
  return into.byteLength === byteLength
    ? into
    : new (typedArrayConstructor(dtypeOf(into)))(into.buffer, into.byteOffset, byteLength / itemsize);
}

export type { UploadDecision };
