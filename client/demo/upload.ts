/**
 * The dashboard's Upload card: pick a .npy file, its header is parsed in the page
 * (shared/npy.ts parseNpyHeader: dtype, shape, where the data starts; big-endian data is swapped
 * per chunk), the data is uploaded with uploadArray as `upload/<file name>` straight from the File,
 * chunk by chunk, with progress, and the server's listing shows it once it was verified.
 * Tests read window.__arraywireUpload.
 */
import { NpyError, parseNpyHeader, swapBytesInPlace } from "../../shared/index.ts";
import { type ArrayInfo, listArrays, StreamError, uploadArray } from "../index.ts";
import { formatBytes } from "./format.ts";

/** What tests read. */
export interface UploadState {
  status: "idle" | "uploading" | "done" | "error";
  name: string | null;
  /** acknowledgedByteLength of each progress report. */
  progress: number[];
  byteLength: number;
  errorCode: string | null;
  /** Names the server listed after the last upload. */
  listed: string[];
}

declare global {
  interface Window {
    __arraywireUpload: UploadState;
  }
}

const state: UploadState = { status: "idle", name: null, progress: [], byteLength: 0, errorCode: null, listed: [] };
window.__arraywireUpload = state;

const ENDPOINT = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/arraywire`;
/** A header is read from this many leading bytes first (more if it says so). */
const HEADER_PROBE_BYTES = 4096;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Missing element #${id} in index.html`);
  return element as T;
}

const input = byId<HTMLInputElement>("upload-file");
const fill = byId<HTMLDivElement>("upload-fill");
const track = byId<HTMLDivElement>("upload-track");
const status = byId<HTMLSpanElement>("upload-status");
const published = byId<HTMLUListElement>("published");

input.addEventListener("change", () => {
  const file = input.files?.[0];
  if (file) void upload(file);
});
void refreshList();

function show(text: string, fraction: number | null = null): void {
  status.textContent = text;
  if (fraction !== null) {
    fill.style.width = `${(fraction * 100).toFixed(1)}%`;
    track.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  }
}

async function upload(file: File): Promise<void> {
  const name = `upload/${file.name}`;
  Object.assign(state, { status: "uploading", name, progress: [], byteLength: 0, errorCode: null });
  input.disabled = true;
  show(`Reading the header of ${file.name}`, 0);
  try {
    let parsed = parseNpyHeader(new Uint8Array(await file.slice(0, HEADER_PROBE_BYTES).arrayBuffer()), {
      fileByteLength: file.size,
    });
    if (!parsed.done) {
      const head = new Uint8Array(await file.slice(0, parsed.needByteLength).arrayBuffer());
      parsed = parseNpyHeader(head, { fileByteLength: file.size });
    }
    if (!parsed.done) throw new NpyError("E_NPY_BAD_HEADER", "Invalid .npy header: it did not end where it said");
    const header = parsed.header;
    state.byteLength = header.dataByteLength;
    show(`Uploading ${header.dtype} [${header.shape.join(", ")}], ${formatBytes(header.dataByteLength)}`, 0);
    await uploadArray(
      ENDPOINT,
      name,
      {
        dtype: header.dtype,
        shape: header.shape,
        read: async (byteOffset, byteLength) => {
          // Big-endian data is swapped by whole elements: read from an element boundary.
          const size = header.needsByteSwap ? header.bytesPerElement : 1;
          const before = byteOffset % size;
          const after = (size - ((byteOffset + byteLength) % size)) % size;
          const start = header.dataByteOffset + byteOffset - before;
          const bytes = new Uint8Array(await file.slice(start, start + before + byteLength + after).arrayBuffer());
          if (header.needsByteSwap) swapBytesInPlace(bytes, size);
          return bytes.subarray(before, before + byteLength);
        },
      },
      {
        meta: { file: file.name, descr: header.descr },
        onProgress: (p) => {
          state.progress.push(p.acknowledgedByteLength);
          const fraction = p.totalByteLength > 0 ? p.acknowledgedByteLength / p.totalByteLength : 1;
          show(`Uploading: ${formatBytes(p.acknowledgedByteLength)} of ${formatBytes(p.totalByteLength)}`, fraction);
        },
      },
    );
    await refreshList();
    state.status = "done"; // after the list: a test that sees "done" sees the name listed
    show(`Uploaded and verified: ${name}`, 1);
  } catch (err) {
    state.errorCode = err instanceof StreamError || err instanceof NpyError ? err.code : "E_UNKNOWN";
    state.status = "error";
    show(`Upload failed: ${(err as Error).message}`);
  } finally {
    input.disabled = false;
    input.value = "";
  }
}

/** Shows what the server publishes now (listArrays). */
async function refreshList(): Promise<void> {
  let arrays: ArrayInfo[];
  try {
    arrays = await listArrays(ENDPOINT);
  } catch {
    return; // a server without discovery: nothing to show
  }
  state.listed = arrays.map((a) => a.name);
  published.replaceChildren(
    ...arrays.map((a) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = a.name;
      const what = document.createElement("span");
      what.className = "muted";
      what.textContent = a.shape ? `${a.dtype} [${a.shape.join(", ")}]${a.live ? " live" : ""}` : a.kind;
      li.append(name, what);
      return li;
    }),
  );
}
