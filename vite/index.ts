/**
 * arraywire/vite: a Vite plugin that serves arrays from `vite dev` and `vite preview`, on Vite's
 * own server (see vite/plugin.ts). Needs `vite` (an optional peer dependency of arraywire).
 */
export type { ArraywirePluginOptions } from "./plugin.ts";
export { arraywire } from "./plugin.ts";
export type { ArrayInit, SetupExport } from "./publish.ts";
