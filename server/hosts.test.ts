import { describe, expect, it } from "vitest";
import { isHostAllowed } from "./hosts.ts";

describe("isHostAllowed (the DNS rebinding guard)", () => {
  it.each([
    "localhost",
    "localhost:5173",
    "LOCALHOST:1",
    "localhost.",
    "app.localhost:8080",
    "127.0.0.1",
    "127.0.0.1:5173",
    "10.1.2.3:80",
    "[::1]",
    "[::1]:5173",
    "[2001:db8::1]:443",
  ])("allows %s by default", (host) => {
    expect(isHostAllowed(host)).toBe(true);
  });

  it.each([
    undefined,
    "",
    "rebind.attacker.example",
    "rebind.attacker.example:5173",
    "localhost.attacker.example",
    "attacker-localhost",
    "127.0.0.1.nip.io",
    "[::1",
    "[not-an-ip]:80",
    "::1",
    "localhost:http",
    "999.1.1.1",
  ])("refuses %s by default", (host) => {
    expect(isHostAllowed(host)).toBe(false);
  });

  it("adds listed names: exact ones, and a leading dot for the name and its subdomains", () => {
    const allowed = ["arrays.example", ".lab.example"];
    expect(isHostAllowed("arrays.example:8080", allowed)).toBe(true);
    expect(isHostAllowed("sub.arrays.example", allowed)).toBe(false);
    expect(isHostAllowed("lab.example", allowed)).toBe(true);
    expect(isHostAllowed("a.b.lab.example:1", allowed)).toBe(true);
    expect(isHostAllowed("evillab.example", allowed)).toBe(false);
    expect(isHostAllowed("localhost", allowed)).toBe(true); // the defaults stay
  });

  it("allows every host with true, and still refuses nothing else by accident with []", () => {
    expect(isHostAllowed("rebind.attacker.example", true)).toBe(true);
    expect(isHostAllowed(undefined, true)).toBe(true);
    expect(isHostAllowed("rebind.attacker.example", [])).toBe(false);
  });
});
