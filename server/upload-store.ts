/**
 * The server's uploads (docs/PROTOCOL.md §16): every upload receiving bytes or kept after a cut
 * for a resume, by upload id, and the budget of bytes the server allocated for them
 * (upload.maxUploadBytes). An upload id is a random non-zero u32, so that ids do not tell how
 * many uploads there were and cannot be walked. A cut upload is parked for resumeTimeoutMs with
 * its bytes still reserved; a resume takes it over (from whichever connection held it), expiry
 * discards it.
 */
import {
  type Checksum,
  type ChecksumAlgorithm,
  createChecksum,
  type Dtype,
  type JsonObject,
  StreamError,
  type TypedArray,
} from "../shared/index.ts";
import type { UploadSettings } from "./upload-options.ts";

/** One upload: what was declared, where its bytes go, and how far it got. */
export interface Upload {
  readonly id: number;
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: number[];
  readonly byteLength: number;
  readonly meta: JsonObject | null;
  readonly params: JsonObject | null;
  readonly checksumAlgorithm: ChecksumAlgorithm;
  /** The target's bytes, exactly byteLength long, and the typed array over them. */
  readonly bytes: Uint8Array;
  readonly array: TypedArray;
  readonly publish: boolean;
  /** Bytes reserved against maxUploadBytes (0 for an `into` target). */
  readonly reservedByteLength: number;
  /** The checksum of bytes [0, receivedByteLength), carried across a resume. */
  readonly hash: Checksum;
  receivedByteLength: number;
  /** Called to drop the upload from the connection that holds it (a resume took it over). */
  detach: (() => void) | null;
}

/** What the server knows of an upload to create (checked by the channel). */
export type UploadInit = Omit<Upload, "id" | "hash" | "receivedByteLength" | "detach">;

export class UploadStore {
  readonly #settings: UploadSettings;
  readonly #uploads = new Map<number, Upload>();
  readonly #parked = new Map<number, ReturnType<typeof setTimeout>>();
  #reservedByteLength = 0;
  #closed = false;

  constructor(settings: UploadSettings) {
    this.#settings = settings;
  }

  /** Uploads receiving bytes or parked. */
  get count(): number {
    return this.#uploads.size;
  }

  /** Bytes reserved against maxUploadBytes. */
  get reservedByteLength(): number {
    return this.#reservedByteLength;
  }

  /**
   * Reserves `byteLength` bytes before they are allocated.
   * @throws {@link StreamError} E_BUSY when they do not fit (nothing is reserved then).
   */
  reserve(byteLength: number, streamId: number): void {
    const max = this.#settings.maxUploadBytes;
    if (this.#reservedByteLength + byteLength > max) {
      throw new StreamError(
        "E_BUSY",
        `Server busy: uploads hold ${this.#reservedByteLength} of ${max} bytes (maxUploadBytes) and ${byteLength} more do not fit; retry later`,
        streamId,
      );
    }
    this.#reservedByteLength += byteLength;
  }

  /** Gives back bytes reserved for an upload that was never created. */
  unreserve(byteLength: number): void {
    this.#reservedByteLength -= byteLength;
  }

  /** Registers a new upload (its bytes reserved already) under a fresh random id. */
  create(init: UploadInit): Upload {
    const hash = createChecksum(init.checksumAlgorithm);
    if (hash === null) throw new TypeError("an upload needs a checksum algorithm");
    const upload: Upload = { ...init, id: this.#newId(), hash, receivedByteLength: 0, detach: null };
    this.#uploads.set(upload.id, upload);
    return upload;
  }

  #newId(): number {
    const word = new Uint32Array(1);
    do crypto.getRandomValues(word);
    while (word[0] === 0 || this.#uploads.has(word[0] as number));
    return word[0] as number;
  }

  /**
   * The upload a resuming PUT names, taken over from whatever connection held it (which drops it
   * without a word) and from the park.
   * @throws {@link StreamError} E_GONE when there is no such upload (never created, expired,
   *   finished or discarded).
   */
  take(id: number, streamId: number): Upload {
    const upload = this.#uploads.get(id);
    if (upload === undefined) {
      throw new StreamError(
        "E_GONE",
        `Upload ${id} is not kept any more (it expired, finished or never existed); start it over`,
        streamId,
      );
    }
    clearTimeout(this.#parked.get(id));
    this.#parked.delete(id);
    const detach = upload.detach;
    upload.detach = null;
    detach?.();
    return upload;
  }

  /** Keeps a cut upload for resumeTimeoutMs (bytes still reserved), then discards it. */
  park(upload: Upload): void {
    upload.detach = null;
    if (this.#closed || !this.#uploads.has(upload.id)) return;
    const timer = setTimeout(() => this.discard(upload), this.#settings.resumeTimeoutMs);
    timer.unref();
    this.#parked.set(upload.id, timer);
  }

  /** Forgets an upload and gives its reserved bytes back. Idempotent. */
  discard(upload: Upload): void {
    if (this.#uploads.get(upload.id) !== upload) return;
    this.#uploads.delete(upload.id);
    clearTimeout(this.#parked.get(upload.id));
    this.#parked.delete(upload.id);
    upload.detach = null;
    this.#reservedByteLength -= upload.reservedByteLength;
  }

  /** Forgets a completed upload: its array now belongs to the application (or the registry). */
  finish(upload: Upload): void {
    this.discard(upload);
  }

  /** Drops every upload (server close). */
  close(): void {
    this.#closed = true;
    for (const upload of [...this.#uploads.values()]) this.discard(upload);
  }
}
