/**
 * Ports of the cross-origin, refusal and layout tests (e2e/cross-origin.spec.ts,
 * e2e/layouts.spec.ts, e2e/fresh-app.spec.ts), after the demo's ARRAYWIRE_E2E_PORT and the
 * grid's two (default base 5174: 5177..5182). The tests start their servers themselves, one
 * test at a time (workers: 1).
 */
const base = Number(process.env.ARRAYWIRE_E2E_PORT ?? 5174);

export const PORTS = {
  /** The cross-origin page's origin (and same-origin endpoints next to it). */
  crossPage: base + 3,
  /** The cross-origin arrays server (several ArrayServers on one http server). */
  crossArrays: base + 4,
  /** Where the layouts' page runs (the README's 5173: Vite's dev server). */
  page: base + 5,
  /** Where the layouts' arrays server runs (the README's 8080). */
  arrays: base + 6,
  /** `vite preview` in the plugin layout. */
  preview: base + 7,
  /** An ArrayServer that owns its port (E_NOT_FOUND for other paths), cross-origin. */
  owned: base + 8,
} as const;
