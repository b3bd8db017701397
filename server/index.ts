/**
 * arraywire/server: publish typed arrays over a Node `ws` server (and plain HTTP GET).
 */

export { SUBPROTOCOL } from "../shared/index.ts";
export type { Refusal, TokenSources } from "./access.ts";
export { isOriginAllowed, readToken } from "./access.ts";
export { ArrayServer } from "./array-server.ts";
export type { ArrayServerOptions, PublishOptions, ServerStats } from "./options.ts";
export type { ArangeOptions, ArraySource, ResolvedArray } from "./sources.ts";
export { arange, fillArange } from "./sources.ts";
