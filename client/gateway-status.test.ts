/**
 * A load balancer's own 502/503/504 page (no backend answered) is retried by fetchArray's resume;
 * other foreign responses are not. A front server plays the proxy: per request it answers with a
 * scripted error page, cuts the body after some bytes, or passes the request to a real server.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, fillArange } from "../server/index.ts";
import { StreamError } from "../shared/index.ts";
import { GatewayStatusError, withGatewayCheck } from "./gateway-status.ts";
import { DECODES_CONTENT_ENCODING, openWithFetch } from "./http.ts";
import { fetchArray } from "./index.ts";

const LENGTH = 200_000; // 1.6 MB

/** What the front does with the n-th request: an error page, a body cut after `cut` bytes, or a pass. */
type Step = { status: number; type?: string } | { cut: number } | "pass";

class Front {
  readonly server: Server;
  readonly requests: string[] = [];
  script: Step[] = [];

  constructor(backendPort: number) {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? "");
      const step = this.script.shift() ?? "pass";
      if (step !== "pass" && "status" in step) {
        const body = `<html><body><h1>${step.status}</h1>nginx</body></html>`;
        res.writeHead(step.status, { "content-type": step.type ?? "text/html", "content-length": body.length });
        res.end(body);
        return;
      }
      const upstream = request({ port: backendPort, host: "127.0.0.1", path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (step === "pass") {
          up.pipe(res);
          return;
        }
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          const room = step.cut - sent;
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += chunk.byteLength;
          if (sent >= step.cut) {
            up.destroy();
            res.destroy(); // a backend that died mid-body
          }
        });
      });
      upstream.end();
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/arraywire`;
  }
}

describe("a load balancer's own error pages", () => {
  let backend: ArrayServer;
  let front: Front;
  const source = fillArange("float64", LENGTH) as Float64Array;

  beforeAll(async () => {
    backend = new ArrayServer({ port: 0, log: () => {} });
    const { port } = await backend.listen();
    backend.publish("a", source);
    front = new Front(port);
    await new Promise<void>((resolve) => front.server.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    front.server.closeAllConnections();
    await new Promise((r) => front.server.close(r));
    await backend.close();
  });

  const resume = { attempts: 4, initialDelayMs: 10, maxDelayMs: 20 };

  it("are retried: 502, 503 and 504 pages, then the array", async () => {
    front.requests.length = 0;
    front.script = [{ status: 502 }, { status: 503 }, { status: 504, type: "text/plain" }];
    const { array } = await fetchArray<Float64Array>(front.url, "a", { transport: "http", resume });
    expect(array[LENGTH - 1]).toBe(LENGTH - 1);
    expect(front.requests).toHaveLength(4);
  });

  it("mid-transfer: the resume after a cut meets a 502 page, then continues from the bytes held", async () => {
    front.requests.length = 0;
    front.script = [{ cut: 600_000 }, { status: 502 }];
    const into = new Float64Array(LENGTH).fill(-1);
    const { array } = await fetchArray<Float64Array>(front.url, "a", { transport: "http", resume, into });
    expect(array).toBe(into);
    expect(into[LENGTH / 2 + 1]).toBe(LENGTH / 2 + 1);
    expect(into[LENGTH - 1]).toBe(LENGTH - 1);
    expect(front.requests).toHaveLength(3);
    expect(front.requests[2]).toMatch(/[?&]resume=\d+&generation=\d+/); // not from byte 0
    expect(Number(/resume=(\d+)/.exec(front.requests[2] as string)?.[1])).toBeGreaterThan(400_000);
  });

  it("fail with E_HTTP_STATUS and the status without resume, or once the attempts are spent", async () => {
    front.script = [{ status: 502 }];
    const err = await fetchArray(front.url, "a", { transport: "http" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayStatusError);
    expect(err).toMatchObject({ code: "E_HTTP_STATUS", status: 502 });
    front.requests.length = 0;
    front.script = Array.from({ length: 5 }, () => ({ status: 503 }));
    const spent = await fetchArray(front.url, "a", { transport: "http", resume }).catch((e: unknown) => e);
    expect(spent).toMatchObject({ code: "E_HTTP_STATUS", status: 503 });
    expect(front.requests).toHaveLength(resume.attempts + 1);
  });

  it("are the only foreign responses retried: 500, 404 and 501 pages fail at once", async () => {
    for (const status of [500, 404, 501]) {
      front.requests.length = 0;
      front.script = [{ status }];
      const err = await fetchArray(front.url, "a", { transport: "http", resume }).catch((e: unknown) => e);
      expect(err, `${status}`).toBeInstanceOf(StreamError);
      expect(err, `${status}`).not.toBeInstanceOf(GatewayStatusError);
      // Another app's 404 page says "no arraywire endpoint here" (client/explain.ts).
      expect(err, `${status}`).toMatchObject({ code: status === 404 ? "E_NOT_FOUND" : "E_HTTP_STATUS" });
      expect(front.requests, `${status}`).toHaveLength(1);
    }
  });

  it("leave a 502 that claims to be arraywire to the body's own code: not a proxy's page, not retried", async () => {
    front.requests.length = 0;
    front.script = [{ status: 502, type: "application/vnd.arraywire" }]; // not an ERROR message
    const err = await fetchArray(front.url, "a", { transport: "http", resume }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(GatewayStatusError);
    expect(err).toMatchObject({ code: "E_HTTP_STATUS" });
    expect(front.requests).toHaveLength(1);
  });
});

describe("withGatewayCheck and Content-Encoding", () => {
  it("keeps fetch's right to ask for a zstd body, and gives it to no other opener", () => {
    expect(DECODES_CONTENT_ENCODING.has(withGatewayCheck(openWithFetch))).toBe(true);
    expect(DECODES_CONTENT_ENCODING.has(withGatewayCheck(async () => Promise.reject(new Error("unused"))))).toBe(false);
  });
});
