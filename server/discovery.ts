/**
 * Discovery over HTTP (docs/PROTOCOL.md §18): `GET <path>?list` answers what the server
 * publishes, `GET <path>?stat=<name>[&params=<json>]` one name, both as JSON (a server without
 * discovery answers both with 400 E_BAD_REQUEST: neither has a `name` parameter). A listing
 * never opens a source: it says what each one describes about itself (ArraySource.describe), and
 * typed arrays and live arrays describe themselves. A stat opens the source only when params are
 * given or the source cannot describe itself, and releases it at once. With `listing: false`
 * the list is refused (403 E_LISTING_DISABLED); a stat of a known name still answers.
 */
import type { ServerResponse } from "node:http";
import { type ArrayInfo, parseJsonObject, StreamError } from "../shared/index.ts";
import { FileDirectory } from "./file-sources/directory.ts";
import { versionGeneration } from "./generation.ts";
import { generationOf, type StreamServices } from "./plan.ts";
import { sendError } from "./refusals.ts";
import type { Entry, Mount } from "./registry.ts";

/** Most names a listing gives for all published directories together. */
const MAX_LISTED_FILES = 10_000;

/**
 * The JSON of one entry, from what its kind knows without opening anything. Its generation is the
 * one a header carries: a published typed array's (from its version, or its content hash, which
 * this waits for while it is computed), else the publish's id (an ArraySource's arrays that name
 * a version get theirs when a stat opens them).
 */
export async function describeEntry(name: string, entry: Entry, services: StreamServices): Promise<ArrayInfo> {
  const generation = entry.generation === null ? entry.id : await entry.generation;
  const info: ArrayInfo = { name, kind: entry.kind, live: entry.live !== null, generation };
  const live = entry.live;
  if (live !== null) {
    return {
      ...info,
      dtype: live.dtype,
      shape: live.shape,
      byteLength: live.byteLength,
      meta: live.meta,
      maxLength: live.maxLength,
      closed: live.closed,
    };
  }
  const description = await services.hooks.describeSource(entry.source);
  return description === null ? info : { ...info, ...description };
}

function sendJson(res: ServerResponse, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.byteLength,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

/**
 * The arrays under a published directory (publishDirectory), at most `maxEntries`, named with the
 * mount's prefix; their generation is the one their header will carry (from the file's content
 * version). A resolver that cannot list (not a FileDirectory), or a walk that fails, lists nothing.
 */
async function listMount(mount: Mount, maxEntries: number, services: StreamServices): Promise<ArrayInfo[]> {
  if (!(mount.resolver instanceof FileDirectory)) return [];
  try {
    const files = await mount.resolver.list({ maxEntries });
    return files.map(({ name, dtype, shape, byteLength, meta, version }) => ({
      name: mount.prefix + name,
      kind: "source",
      live: false,
      generation: version ? versionGeneration({ dtype, shape, meta }, version) : mount.id,
      dtype,
      shape,
      byteLength,
      meta,
    }));
  } catch (err) {
    services.hooks.logPeer("list", `a published directory could not be listed (${(err as Error).name})`);
    return [];
  }
}

/** Answers `?list`: every published name, in publish order, or 403 E_LISTING_DISABLED. */
export async function serveList(res: ServerResponse, services: StreamServices): Promise<void> {
  if (!services.settings.listing) {
    sendError(
      res,
      "E_LISTING_DISABLED",
      "This server does not list what it publishes (listing: false); stat a name you know with ?stat=<name>",
      403,
    );
    return;
  }
  const entries = services.registry.entries();
  const arrays = await Promise.all(entries.map(([name, entry]) => describeEntry(name, entry, services)));
  let room = MAX_LISTED_FILES;
  // A name is listed as a request resolves it: a name published by itself wins over a directory's
  // file of that name, and a longer prefix (listed first) over a shorter one.
  const taken = new Set(entries.map(([name]) => name));
  for (const mount of services.registry.mounts()) {
    if (room <= 0) break;
    const files = (await listMount(mount, room, services)).filter((file) => !taken.has(file.name));
    for (const file of files) taken.add(file.name);
    room -= files.length;
    arrays.push(...files);
  }
  sendJson(res, { arrays });
}

/**
 * Answers `?stat=<name>[&params=<json>]`: the entry, with the dtype, shape, byteLength and
 * meta of the array the source opens for `params` when params are given or the source does not
 * describe itself. Errors are the ones a stream request would get (404 E_UNKNOWN_NAME, 400
 * E_BAD_REQUEST or E_BAD_JSON, 503 E_BUSY...).
 */
export async function serveStat(res: ServerResponse, query: URLSearchParams, services: StreamServices): Promise<void> {
  const { hooks } = services;
  const name = query.get("stat");
  try {
    if (!name) throw new StreamError("E_BAD_REQUEST", "Invalid stat: expected a name, as in ?stat=<name>");
    const entry = services.registry.get(name);
    if (!entry) throw new StreamError("E_UNKNOWN_NAME", `Unknown array: ${JSON.stringify(name)} is not published`);
    const paramsText = query.get("params");
    const params = paramsText === null ? null : parseJsonObject(paramsText, "params");
    const info = await describeEntry(name, entry, services);
    const described = info.dtype !== undefined && info.shape !== undefined;
    if (entry.live !== null || (params === null && (described || info.params !== undefined))) {
      sendJson(res, info);
      return;
    }
    const controller = new AbortController();
    res.once("close", () => controller.abort());
    const lease = await services.sources.acquire(entry.id, name, entry.source, params, controller.signal);
    const { dtype, shape, totalByteLength, meta } = lease.description;
    let generation: number;
    try {
      // A versioned source (a file) names its content: the generation its header will carry.
      const found = generationOf(entry, lease.description, controller.signal);
      generation = typeof found === "number" ? found : await found;
    } finally {
      lease.release();
    }
    sendJson(res, { ...info, generation, dtype, shape, byteLength: totalByteLength, meta });
  } catch (err) {
    if (res.destroyed) return;
    const { code, message } = hooks.errorReply(err, `stat of ${JSON.stringify(name)}`);
    sendError(res, code, message);
  }
}
