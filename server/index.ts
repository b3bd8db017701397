/**
 * arraywire/server: publish typed arrays over a Node `ws` server.
 */

export type { ArrayServerOptions, PublishOptions, ServerStats } from "./array-server.ts";
export { ArrayServer } from "./array-server.ts";
export type { ArangeOptions, ArraySource, ResolvedArray } from "./sources.ts";
export { arange, fillArange } from "./sources.ts";
