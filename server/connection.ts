/**
 * One client connection: decodes its control messages, opens streams (a REQUEST stays pending
 * while its source opens), and hands running streams to its pump (stream-pump.ts), which sends
 * them under three limits: the bytes queued in this socket, the server-wide in-flight budget, and
 * each stream's credit (the client's window).
 *
 * Uploads (PUT, then the client's DATA + payload pairs and END) go to its upload channel
 * (upload-channel.ts) when the server takes uploads.
 *
 * A message that decodes badly, or asks for something impossible, gets an ERROR on the stream it
 * names, which ends that stream on both sides; the connection and its other streams keep
 * working. ws closes a connection for invalid frames (1002/1007/1008) and messages over its
 * maxPayload (1009); with uploads on, maxPayload is the upload payload cap, and the server closes
 * with 1009 a control message over maxControlByteLength itself. The server closes with 1008 a peer
 * that keeps sending while its replies go unread, or sends upload bytes past its credit;
 * terminates it for liveness (missed heartbeat, undrained socket), and closes it with 1001 on
 * shutdown.
 */
import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";
import {
  type ArrayHeaderMessage,
  decodeMessage,
  encodeError,
  hasDataType,
  ProtocolError,
  peekStreamId,
  type RequestMessage,
  type WireErrorCode,
} from "../shared/index.ts";
import type { InFlightBudget } from "./budget.ts";
import { LiveFeed } from "./live-feed.ts";
import { planStream, type StreamServices } from "./plan.ts";
import { type OutgoingStream, openStream } from "./stream.ts";
import { StreamPump } from "./stream-pump.ts";
import { UploadChannel } from "./upload-channel.ts";

/** A REQUEST whose source is still being opened, and the credit granted meanwhile. */
interface PendingStream {
  request: RequestMessage;
  grantedByteLength: number;
  /** Aborted by CANCEL, a failure naming the stream, or the connection's end. */
  controller: AbortController;
}

export class Connection {
  readonly #ws: WebSocket;
  readonly #services: StreamServices;
  readonly #pump: StreamPump;
  /** Stream ids with a REQUEST being opened, counted against maxStreams. */
  readonly #pending = new Map<number, PendingStream>();
  /** The connection's uploads, when the server takes uploads. */
  readonly #uploads: UploadChannel | null;
  #closed = false;
  /**
   * What the message after a client DATA is: the payload of an upload (its stream id), or one to
   * drop unread ("skip": a DATA for no upload, or a bad one); null when it is a control message.
   */
  #payloadFor: number | "skip" | null = null;

  constructor(ws: WebSocket, services: StreamServices, budget: InFlightBudget, req: IncomingMessage) {
    this.#ws = ws;
    this.#services = services;
    const uploadSettings = services.settings.upload;
    this.#uploads =
      uploadSettings === null || services.uploads === null
        ? null
        : new UploadChannel({
            settings: uploadSettings,
            store: services.uploads,
            hooks: services.hooks,
            req,
            reply: (bytes) => this.#pump.reply(bytes),
            sendError: (id, code, message) => this.#sendError(id, code, message),
            violate: (reason) => this.#closeViolating(reason),
            publish: (name, array, shape, meta) => services.publishUpload(name, array, shape, meta),
          });
    this.#pump = new StreamPump(
      ws,
      services,
      budget,
      (stream, err) => this.#failSource(stream, err),
      () => this.#closeFlooded(),
    );
    ws.on("message", (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on("close", () => this.#onClose());
    // ws emits 'error' for invalid frames (and then closes); without a listener the process dies.
    ws.on("error", (err) => services.hooks.logPeer("connection", `connection error: ${err.message}`));
  }

  /** Streams in flight on this connection (running, being opened, or uploads). */
  get streamCount(): number {
    return this.#pump.size + this.#pending.size + (this.#uploads?.size ?? 0);
  }

  /** Bytes handed to ws (or being read for it) and not yet written to the socket. */
  get queuedByteLength(): number {
    return this.#pump.queue.byteLength;
  }

  /**
   * Drops streams that waited longer than stallTimeoutMs for credit (E_TIMEOUT), and terminates
   * the connection when its socket has not drained for that long.
   */
  checkStalls(now: number): void {
    const timeout = this.#services.settings.stallTimeoutMs;
    if (timeout === 0 || this.#closed) return;
    const { queue } = this.#pump;
    if (queue.byteLength > 0 && now - queue.lastDrainAt > timeout) {
      this.#services.hooks.logPeer("stall", `terminating a connection whose socket did not drain for ${timeout} ms`);
      this.#ws.terminate();
      return;
    }
    for (const stream of this.#pump.list()) {
      if (stream.credit <= 0 && !stream.done && now - stream.lastProgressAt > timeout) {
        this.#failStream(stream.streamId, "E_TIMEOUT", `Stream stalled: no credit granted for ${timeout} ms`);
      }
    }
    this.#uploads?.checkStalls(now, timeout);
  }

  /** Sends an ERROR to every open stream (code E_SHUTDOWN) and closes with 1001. */
  shutdown(): void {
    for (const stream of this.#pump.list()) this.#failStream(stream.streamId, "E_SHUTDOWN", "Server is shutting down");
    for (const id of [...this.#pending.keys()]) this.#failStream(id, "E_SHUTDOWN", "Server is shutting down");
    this.#uploads?.shutdown();
    this.#ws.close(1001, "server shutting down");
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    const payloadFor = this.#payloadFor;
    if (payloadFor !== null) {
      this.#payloadFor = null;
      if (payloadFor !== "skip") this.#uploads?.payload(payloadFor, isBinary ? data : data.toString());
      return;
    }
    if (!isBinary) {
      this.#sendError(0, "E_TEXT_FRAME", "Invalid message: expected a binary frame, got text");
      return;
    }
    const { settings } = this.#services;
    if (this.#uploads !== null && data.byteLength > settings.maxControlByteLength) {
      // ws lets messages up to the upload payload cap through; a control message is held to its own.
      this.#closeWith(1009, `control message of ${data.byteLength} bytes, over ${settings.maxControlByteLength}`);
      return;
    }
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(data, {
        maxControlByteLength: settings.maxControlByteLength,
        maxChunkByteLength: settings.upload?.maxPayloadByteLength,
      });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // A DATA that fails its checks still has its payload coming (PROTOCOL.md §5.8): drop it.
      if (hasDataType(data) && err.code !== "E_BAD_MAGIC" && err.code !== "E_BAD_VERSION") this.#payloadFor = "skip";
      // Answer on the stream the message names, when it is long enough to name one.
      this.#failStream(peekStreamId(data), err.code, err.message);
      return;
    }
    switch (message.type) {
      case "REQUEST":
        void this.#open(message);
        break;
      case "CREDIT": {
        const stream = this.#pump.get(message.streamId);
        if (stream) {
          stream.grant(message.grantByteLength);
          this.#pump.run();
        } else {
          // Credit granted before the header (REQUEST and CREDIT in one write) counts too.
          const pending = this.#pending.get(message.streamId);
          if (pending) pending.grantedByteLength += message.grantByteLength;
        }
        break;
      }
      case "CANCEL":
        // Frames already queued still go out; the client drops payloads of streams it cancelled.
        this.#drop(message.streamId);
        break;
      case "PUT":
        if (this.#uploads === null) this.#unexpected(message.streamId, message.type);
        else this.#put(message, this.#uploads);
        break;
      case "DATA": {
        const outcome = this.#uploads?.data(message) ?? "not-an-upload";
        if (outcome === "payload") {
          this.#payloadFor = message.streamId;
          break;
        }
        // A DATA announces a payload message: drop it too, or it would be read as a control message.
        this.#payloadFor = "skip";
        if (outcome === "not-an-upload") this.#unexpected(message.streamId, message.type);
        break;
      }
      case "END":
        if (!this.#uploads?.end(message)) this.#unexpected(message.streamId, message.type);
        break;
      default:
        this.#unexpected(message.streamId, message.type);
    }
  }

  #unexpected(streamId: number, type: string): void {
    this.#failStream(
      streamId,
      "E_UNEXPECTED_MESSAGE",
      this.#uploads === null
        ? `Unexpected ${type} from a client (this server takes no uploads)`
        : `Unexpected ${type} from a client (no upload is open on stream ${streamId})`,
    );
  }

  /** A PUT: the same stream-id checks as a REQUEST, then the upload channel. */
  #put(put: ArrayHeaderMessage, uploads: UploadChannel): void {
    const { streamId } = put;
    const { maxStreams } = this.#services.settings;
    if (streamId === 0) {
      this.#sendError(0, "E_BAD_REQUEST", "Invalid PUT: expected streamId > 0, got 0");
      return;
    }
    if (this.#pump.has(streamId) || this.#pending.has(streamId) || uploads.has(streamId)) {
      this.#failStream(streamId, "E_STREAM_EXISTS", `Stream ${streamId} was already open on this connection; both end`);
      return;
    }
    if (this.streamCount >= maxStreams) {
      this.#sendError(streamId, "E_TOO_MANY_STREAMS", `Too many streams: expected at most ${maxStreams} at once`);
      return;
    }
    void uploads.put(put);
  }

  async #open(request: RequestMessage): Promise<void> {
    const { streamId } = request;
    const { maxStreams } = this.#services.settings;
    if (streamId === 0) {
      this.#sendError(0, "E_BAD_REQUEST", "Invalid REQUEST: expected streamId > 0, got 0");
      return;
    }
    if (this.#pump.has(streamId) || this.#pending.has(streamId) || this.#uploads?.has(streamId)) {
      // An ERROR names one stream id, and ends that stream on both sides: the running one too.
      this.#failStream(
        streamId,
        "E_STREAM_EXISTS",
        `Stream ${streamId} was already open on this connection; both requests end`,
      );
      return;
    }
    if (this.streamCount >= maxStreams) {
      this.#sendError(streamId, "E_TOO_MANY_STREAMS", `Too many streams: expected at most ${maxStreams} at once`);
      return;
    }
    // The entry is this request's own: if an ERROR ends this request and the client reuses the
    // id before our source opens, the newer request's entry is not ours to answer.
    const pending: PendingStream = { request, grantedByteLength: 0, controller: new AbortController() };
    this.#pending.set(streamId, pending);
    let stream: OutgoingStream | null = null;
    try {
      if (request.headerOnly) {
        // A stat: the header alone ends the stream (docs/PROTOCOL.md §18.3).
        const plan = await planStream(request, this.#services, pending.controller.signal);
        plan.lease.release();
        if (this.#pending.get(streamId) !== pending || this.#closed) return;
        this.#pending.delete(streamId);
        this.#pump.reply(plan.headerBytes);
        return;
      }
      stream = await openStream(request, this.#services, this.#pump.pool, pending.controller.signal);
    } catch (err) {
      if (this.#pending.get(streamId) !== pending) return; // cancelled, ended or closed meanwhile
      this.#pending.delete(streamId);
      const { code, message } = this.#services.hooks.errorReply(err, `source for ${JSON.stringify(request.name)}`);
      this.#sendError(streamId, code, message);
      return;
    }
    if (this.#pending.get(streamId) !== pending || this.#closed) {
      stream.close();
      return;
    }
    this.#pending.delete(streamId);
    if (request.creditByteLength > 0) stream.grant(pending.grantedByteLength);
    if (!this.#pump.start(stream)) return;
    const feed = stream.growth;
    if (feed instanceof LiveFeed) {
      const started = stream;
      feed.attach({
        wake: this.#pump.run,
        position: () => started.nextByteOffset,
        lagging: (lag, max) =>
          this.#failStream(
            streamId,
            "E_SLOW_CONSUMER",
            `Subscriber too slow: ${lag} bytes of the live array were not yet sent to it, more than its maxLagByteLength ${max}; subscribe again from where you want`,
          ),
      });
    }
  }

  #failSource(stream: OutgoingStream, err: unknown): void {
    const what = `source for ${JSON.stringify(stream.plan.header.name)}`;
    const { code, message } = this.#services.hooks.errorReply(err, what);
    this.#failStream(stream.streamId, code, message);
  }

  /** Ends a stream (running, being opened, or an upload, which is discarded) without a word to the client. */
  #drop(streamId: number): void {
    this.#pump.remove(streamId);
    this.#pending.get(streamId)?.controller.abort();
    this.#pending.delete(streamId);
    this.#uploads?.drop(streamId);
  }

  /** Ends a stream (running or being opened) and tells the client why. */
  #failStream(streamId: number, code: WireErrorCode, message: string): void {
    this.#drop(streamId);
    this.#sendError(streamId, code, message);
  }

  #sendError(streamId: number, code: WireErrorCode, message: string): void {
    this.#pump.reply(encodeError(streamId, code, message));
  }

  /**
   * The peer kept sending while 4 x maxStreams replies went unread (it was 20 MB queued and 60 s
   * before the stall timeout): close with 1008 at once, freeing its streams and budget now; ws
   * ends the socket if the peer does not answer within its close timeout.
   */
  #closeFlooded(): void {
    if (this.#closed) return;
    this.#services.hooks.logPeer(
      "1008",
      `closing a connection with 1008: it kept sending while ${this.#pump.queue.replyCount} replies went unread`,
    );
    this.#closeWith(1008, "too many unread replies");
  }

  /** The client sent upload bytes past its credit: close with 1008 at once (PROTOCOL.md §16.4). */
  #closeViolating(reason: string): void {
    if (this.#closed) return;
    this.#services.hooks.logPeer("1008", `closing a connection with 1008: it ${reason}`);
    this.#closeWith(1008, "upload past its credit");
  }

  /** Frees everything now and closes with `code`; ws ends the socket if the peer does not answer in time. */
  #closeWith(code: number, reason: string): void {
    this.#onClose();
    this.#ws.close(code, reason);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump.close();
    for (const id of [...this.#pending.keys()]) this.#drop(id);
    // Uploads being received are kept for a resume (a cut connection is what resume is for).
    this.#uploads?.close();
  }
}
