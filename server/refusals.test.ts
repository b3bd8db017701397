/**
 * Refusals over HTTP carry an arraywire ERROR body with their own code and a message that says
 * what to change; upgrade refusals are bare statuses, and a probe (GET <path>?probe=1) runs the
 * same checks so a client can learn why its upgrade was refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { decodeMessage, type ErrorMessage, HTTP_CONTENT_TYPE } from "../shared/index.ts";
import { ArrayServer, type ArrayServerOptions, type ArraySource, arange, readToken } from "./index.ts";

const SECRET = "s3cr3t-token-value";

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", () => resolve(0));
  });
}

async function errorBody(response: Response): Promise<ErrorMessage> {
  expect(response.headers.get("content-type")).toBe(HTTP_CONTENT_TYPE);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return decodeMessage(new Uint8Array(await response.arrayBuffer())) as ErrorMessage;
}

describe("refusals", () => {
  let server: ArrayServer | null = null;
  let opens = 0;

  async function start(options: ArrayServerOptions = {}): Promise<{ server: ArrayServer; http: string }> {
    server = new ArrayServer({ port: 0, log: () => {}, ...options });
    await server.listen();
    server.publish("arange", arange());
    opens = 0;
    const zeros = new Uint8Array(32);
    const counting: ArraySource = {
      open: () => {
        opens++;
        return { dtype: "float64", shape: [4], read: (o: number, n: number) => zeros.subarray(o, o + n) };
      },
    };
    server.publish("counting", counting);
    return { server, http: server.url.replace(/^ws:/, "http:") };
  }

  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it("answers a refused Origin with 403 E_FORBIDDEN_ORIGIN naming the option to change", async () => {
    const { http } = await start({ allowedOrigins: ["https://app.example"] });
    const response = await fetch(`${http}?name=arange&params={"length":1}`, {
      headers: { origin: "https://evil.example" },
    });
    expect(response.status).toBe(403);
    expect(await errorBody(response)).toMatchObject({
      code: "E_FORBIDDEN_ORIGIN",
      message: "Origin https://evil.example is not allowed: add it to allowedOrigins",
    });
  });

  it("answers a failed authentication with 401 E_UNAUTHORIZED and never echoes the token", async () => {
    const { http } = await start({ authenticate: (req) => readToken(req) === SECRET });
    const response = await fetch(`${http}?name=arange&params={"length":1}`, {
      headers: { authorization: `Bearer not-${SECRET}`, cookie: `arraywire_token=x${SECRET}` },
    });
    expect(response.status).toBe(401);
    const body = await errorBody(response);
    expect(body.code).toBe("E_UNAUTHORIZED");
    expect(body.message).toMatch(/authenticate/);
    expect(body.message).not.toContain(SECRET);
  });

  it("answers a path it owns nothing at with 404 E_NOT_FOUND naming its path", async () => {
    const { http } = await start();
    const response = await fetch(http.replace(/\/arraywire$/, "/elsewhere"));
    expect(response.status).toBe(404);
    const body = await errorBody(response);
    expect(body.code).toBe("E_NOT_FOUND");
    expect(body.message).toContain("/arraywire");
  });

  it("answers HEAD with 405 Allow: GET without opening the source", async () => {
    const { http } = await start();
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${http}?name=counting`, { method: "HEAD" });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET");
    }
    expect(opens).toBe(0);
    const post = await fetch(`${http}?name=counting`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
    expect((await errorBody(post)).code).toBe("E_BAD_REQUEST");
    expect(opens).toBe(0);
    const get = await fetch(`${http}?name=counting`);
    expect(get.status).toBe(200);
    await get.arrayBuffer();
    expect(opens).toBe(1);
  });

  it("lets a probe learn why an upgrade is refused: same checks, typed answer, 200 when access is fine", async () => {
    const { server: s, http } = await start({
      allowedOrigins: ["https://app.example"],
      authenticate: (req) => readToken(req) === SECRET,
    });
    const cases: [Record<string, string>, number, string | null][] = [
      [{ origin: "https://evil.example", authorization: `Bearer ${SECRET}` }, 403, "E_FORBIDDEN_ORIGIN"],
      [{ origin: "https://app.example" }, 401, "E_UNAUTHORIZED"],
      [{ origin: "https://app.example", authorization: `Bearer ${SECRET}` }, 200, null],
    ];
    for (const [headers, status, code] of cases) {
      expect(await upgradeStatus(s.url, headers)).toBe(status === 200 ? 101 : status);
      const probe = await fetch(`${http}?probe=1`, { headers });
      expect(probe.status).toBe(status);
      if (code === null) expect(await probe.arrayBuffer()).toHaveProperty("byteLength", 0);
      else expect((await errorBody(probe)).code).toBe(code);
    }
    // Without a name (and no probe), access passes but the request is incomplete: 400.
    const bare = await fetch(http, { headers: cases[2]?.[0] });
    expect(bare.status).toBe(400);
    expect((await errorBody(bare)).code).toBe("E_BAD_REQUEST");
  });
});
