/**
 * Settings of the browser-grid harness shared by the harness server, the page and the tests.
 * Ports, next to the demo server's ARRAYWIRE_E2E_PORT (default
 * 5174): the page and every stream go through the cutting proxy on port + 1; the harness's own
 * http server (arrays, page, fake servers) listens on port + 2.
 */
const base = Number(process.env.ARRAYWIRE_E2E_PORT ?? 5174);

/** Where the page is loaded from and every stream goes through (the cutting proxy). */
export const PROXY_PORT = base + 1;
/** The harness's http server behind the proxy. */
export const HARNESS_PORT = base + 2;
/** The origin the page runs at. */
export const PAGE_ORIGIN = `http://127.0.0.1:${PROXY_PORT}`;

/** The token of SECURITY.md's example: the /secure endpoint's authenticate hook wants it. */
export const TOKEN = "grid-s3cret";
