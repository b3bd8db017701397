/**
 * arraywire/server: publish typed arrays over a Node `ws` server (and plain HTTP GET).
 */

export { SUBPROTOCOL } from "../shared/index.ts";
export type { Refusal } from "./access.ts";
export type { ArangeOptions } from "./arange.ts";
export { arange, fillArange } from "./arange.ts";
export { ArrayServer } from "./array-server.ts";
export type { DirectoryEntry, FileDirectoryOptions, ListOptions } from "./file-sources/directory.ts";
export { FileDirectory } from "./file-sources/directory.ts";
export type { FileSourceErrorCode } from "./file-sources/file-errors.ts";
export { FileSourceError } from "./file-sources/file-errors.ts";
export type { NpyFileOptions } from "./file-sources/npy-file.ts";
export { npyFile } from "./file-sources/npy-file.ts";
export type { ZarrArrayOptions } from "./file-sources/zarr-source.ts";
export { zarrArray } from "./file-sources/zarr-source.ts";
export { isHostAllowed } from "./hosts.ts";
export type { LiveOptions } from "./live.ts";
export { LiveArray } from "./live.ts";
export type { ArrayServerOptions, ServerStats } from "./options.ts";
export { isOriginAllowed } from "./origins.ts";
export type { ArraySource, PublishOptions, SourceArray, SourceContext, SourceDescription } from "./sources.ts";
export { typedArraySource } from "./sources.ts";
export type { TokenSources } from "./tokens.ts";
export { readToken } from "./tokens.ts";
export type { UploadDecision, UploadOptions, UploadRequest, UploadResult } from "./upload-options.ts";
