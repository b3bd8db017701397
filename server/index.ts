/**
 * arraywire/server: publish typed arrays over a Node `ws` server (and plain HTTP GET).
 */

export type { Refusal, TokenSources } from "./access.ts";
export { isOriginAllowed, readToken } from "./access.ts";
export { ArrayServer, SUBPROTOCOL } from "./array-server.ts";
export type { ArrayServerOptions, PublishOptions, ServerStats } from "./options.ts";
export type { ArangeOptions, ArraySource, ResolvedArray } from "./sources.ts";
export { arange, fillArange } from "./sources.ts";
