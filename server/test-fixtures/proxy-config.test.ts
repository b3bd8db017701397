import { describe, expect, it } from "vitest";
import { deployBlock, haproxyConfig, nginxConfig } from "./proxy-config.ts";

const addresses = { listenPort: 41000, backendPorts: [41001, 41002] };

describe("deployBlock", () => {
  it("reads the tested nginx and HAProxy blocks of docs/DEPLOY.md", () => {
    expect(deployBlock("nginx")).toContain("proxy_buffering off;");
    expect(deployBlock("haproxy")).toContain("timeout tunnel");
  });

  it("refuses a document with no block, or two, for a proxy", () => {
    const block = "<!-- tested: nginx -->\n```nginx\nserver {}\n```\n";
    expect(() => deployBlock("nginx", "no blocks here")).toThrow(/expected one block marked "tested: nginx", got 0/);
    expect(() => deployBlock("nginx", block + block)).toThrow(/got 2/);
    expect(deployBlock("nginx", `intro\n${block}outro`)).toBe("server {}");
  });
});

describe("nginxConfig", () => {
  it("points the tested block at the given ports and keeps every file in the given directory", () => {
    const config = nginxConfig(deployBlock("nginx"), addresses, "/tmp/x");
    expect(config).toContain("listen 127.0.0.1:41000;");
    expect(config).not.toMatch(/listen 8080|:900\d/);
    // One line per backend, with the example's parameters kept.
    expect(config.match(/^\s*server 127\.0\.0\.1:4100[12] max_fails=1 fail_timeout=5s;$/gm)).toHaveLength(2);
    expect(config).toContain("pid /tmp/x/nginx.pid;");
    expect(config).toContain("proxy_temp_path /tmp/x/proxy_temp;");
    const directives = config.split("\n").filter((line) => !line.trim().startsWith("#"));
    expect(directives.join("\n")).not.toMatch(/\/var\/|\/etc\//);
  });

  it("replaces a directive's value once, and refuses one the block lacks", () => {
    const block = deployBlock("nginx");
    const config = nginxConfig(block, { ...addresses, overrides: { proxy_read_timeout: "2s" } }, "/tmp/x");
    expect(config).toMatch(/^\s*proxy_read_timeout 2s;$/m);
    expect(config).not.toContain("proxy_read_timeout 120s");
    expect(config).toContain("proxy_send_timeout 120s;");
    expect(() => nginxConfig(block, { ...addresses, overrides: { proxy_cache: "on" } }, "/tmp/x")).toThrow(
      /expected one "proxy_cache" line, got 0/,
    );
  });

  it("refuses a block whose example addresses moved", () => {
    const block = deployBlock("nginx");
    expect(() => nginxConfig(block.replace("listen 8080;", "listen 80;"), addresses, "/tmp/x")).toThrow(
      /expected one listen 8080, got 0/,
    );
    expect(() => nginxConfig(block.replace(/127\.0\.0\.1:900\d/g, "10.0.0.1:80"), addresses, "/tmp/x")).toThrow(
      /expected example servers/,
    );
  });
});

describe("haproxyConfig", () => {
  it("points the tested block at the given ports, keeping each server's checks", () => {
    const config = haproxyConfig(deployBlock("haproxy"), {
      ...addresses,
      overrides: { "timeout tunnel": "2s" },
    });
    expect(config).toContain("bind 127.0.0.1:41000");
    expect(config).toMatch(/^\s*server s1 127\.0\.0\.1:41001 check inter 1s fall 1 rise 2$/m);
    expect(config).toMatch(/^\s*server s2 127\.0\.0\.1:41002 check inter 1s fall 1 rise 2$/m);
    expect(config).not.toMatch(/s3|:900\d|bind :8080/);
    expect(config).toMatch(/^\s*timeout tunnel 2s$/m);
  });
});
