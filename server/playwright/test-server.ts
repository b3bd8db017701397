/**
 * The arrays server of one Playwright test worker: an ArrayServer on 127.0.0.1, port 0, behind a
 * small http server that lets the page under test read it from another origin (the app's own
 * dev server, say): the ArrayServer's CORS answers (`Access-Control-Allow-Origin: *` for the
 * default "*", the exact origin with credentials for a list; a simple GET needs no preflight,
 * a preflight is answered for requests with headers), and every response carries
 * `Cross-Origin-Resource-Policy: cross-origin`, so cross-origin isolated pages may read it too.
 * The ArrayServer accepts any Origin ("*") unless `allowedOrigins` says otherwise: a test server
 * on the loopback interface, for the test's own browser. With `server` given it attaches there
 * instead and leaves that server's requests to its owner (mount `server.middleware` for the
 * HTTP transport).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TypedArray } from "../../shared/index.ts";
import { ArrayServer } from "../array-server.ts";
import type { ArrayServerOptions } from "../options.ts";
import type { ArraySource, PublishOptions } from "../sources.ts";

/** A published array in a fixture option: a typed array, an ArraySource, or a typed array with its shape and meta. */
export type ArraySpec = TypedArray | ArraySource | ({ array: TypedArray } & PublishOptions);

/** A running test server. */
export interface ArraywireServer {
  /** The ArrayServer: publish, unpublish, stats, middleware... */
  readonly server: ArrayServer;
  /** The endpoint over HTTP: `http://127.0.0.1:<port>/arraywire`, what fetchArray takes in a page. */
  readonly url: string;
  /** The same endpoint as a WebSocket URL. */
  readonly wsUrl: string;
  /** Publishes `spec` under `name`. @throws what ArrayServer#publish throws. */
  publish(name: string, spec: ArraySpec): void;
  /** Stops the ArrayServer (and the http server it owns). */
  close(): Promise<void>;
}

/**
 * Publishes a fixture's ArraySpec.
 * @throws {TypeError} for a spec that is none of the three forms, and what publish throws.
 */
export function publishSpec(server: ArrayServer, name: string, spec: ArraySpec): void {
  if (ArrayBuffer.isView(spec)) server.publish(name, spec as TypedArray);
  else if (spec !== null && typeof spec === "object" && ArrayBuffer.isView((spec as { array?: unknown }).array)) {
    const { array, ...options } = spec as { array: TypedArray } & PublishOptions;
    server.publish(name, array, options);
  } else if (spec !== null && typeof spec === "object" && typeof (spec as ArraySource).open === "function") {
    server.publish(name, spec as ArraySource);
  } else {
    throw new TypeError(
      `Invalid arrays.${name}: expected a typed array, an ArraySource or { array, shape?, meta? }, got ${String(spec)}`,
    );
  }
}

/**
 * Lets a cross-origin isolated page (COEP require-corp) read the responses. CORS itself (exact
 * origins for a list, `*` for "*", preflights) is the ArrayServer's own (server/cors.ts).
 */
function allowCrossOriginEmbedding(res: ServerResponse): void {
  res.setHeader("cross-origin-resource-policy", "cross-origin");
}

/**
 * Starts a test server publishing `arrays`.
 * @throws {TypeError} for a bad ArraySpec; what ArrayServer's constructor and listen throw.
 */
export async function startArraywireServer(
  arrays: Readonly<Record<string, ArraySpec>>,
  options: ArrayServerOptions = {},
): Promise<ArraywireServer> {
  const attached = options.server;
  let http: Server;
  let arrayServer: ArrayServer;
  if (attached) {
    // Only address() and close() of an attached server are used: any of ArrayServer's kinds
    // works, though the URLs say http: and ws: (attach a plain http server to use them as given).
    http = attached as Server;
    arrayServer = new ArrayServer({ allowedOrigins: "*", ...options });
  } else {
    http = createServer((req, res) => {
      allowCrossOriginEmbedding(res);
      if (!arrayServer.handleRequest(req, res)) {
        res.writeHead(404, { "content-type": "text/plain" }).end("arraywire test server: not found\n");
      }
    });
    arrayServer = new ArrayServer({ allowedOrigins: "*", ...options, server: http });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        http.off("error", reject);
        resolve();
      });
    });
  }
  try {
    for (const [name, spec] of Object.entries(arrays)) publishSpec(arrayServer, name, spec);
  } catch (error) {
    await arrayServer.close();
    if (!attached) await new Promise<void>((resolve) => http.close(() => resolve()));
    throw error;
  }
  const address = http.address() as AddressInfo | null;
  if (address === null) throw new Error("arraywire test server: the http server is not listening");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const path = options.path ?? "/arraywire";
  return {
    server: arrayServer,
    url: `http://${host}:${address.port}${path}`,
    wsUrl: `ws://${host}:${address.port}${path}`,
    publish: (name, spec) => publishSpec(arrayServer, name, spec),
    async close() {
      await arrayServer.close();
      if (!attached) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    },
  };
}
