/** The registry's mounts (publishDirectory): which entry a name resolves to. */
import { describe, expect, it } from "vitest";
import { type NameResolver, Registry } from "./registry.ts";
import type { ArraySource } from "./sources.ts";

const source = (label: string): ArraySource & { label: string } => ({
  label,
  open: () => Promise.reject(new Error(label)),
});

function resolver(label: string, seen: string[]): NameResolver {
  return {
    resolve(rest) {
      seen.push(rest);
      return rest === "bad" ? undefined : source(`${label}:${rest}`);
    },
  };
}

describe("Registry mounts", () => {
  it("resolves names under the longest prefix, after names published by themselves", () => {
    const registry = new Registry();
    const seen: string[] = [];
    registry.mount("data/", resolver("outer", seen));
    registry.mount("data/raw/", resolver("inner", seen));
    registry.publish("data/raw/x.npy", source("exact"));
    const label = (name: string) => (registry.get(name)?.source as { label?: string } | undefined)?.label;
    expect(label("data/raw/x.npy")).toBe("exact");
    expect(label("data/raw/y.npy")).toBe("inner:y.npy");
    expect(label("data/y.npy")).toBe("outer:y.npy");
    expect(label("data/")).toBeUndefined(); // the prefix alone names nothing
    expect(label("data/bad")).toBeUndefined(); // the resolver refused it
    expect(label("other")).toBeUndefined();
    expect(seen).toEqual(["y.npy", "y.npy", "bad"]);
  });

  it("gives each mount an entry id, a new one when remounted, and removes it by its prefix", () => {
    const registry = new Registry();
    registry.publish("a", source("a"));
    registry.mount("d/", resolver("d", []));
    const first = registry.get("d/x");
    // Ids are unique per publish and mount; the files' generations come from their versions.
    expect(first?.id).not.toBe(registry.get("a")?.id);
    expect(first?.generation).toBeNull();
    expect(registry.get("d/y")?.id).toBe(first?.id); // names under one mount share it
    registry.mount("d/", resolver("d2", []));
    const second = registry.get("d/x")?.id;
    expect(second).not.toBe(first?.id);
    expect(second).not.toBe(registry.get("a")?.id);
    expect(registry.mounts().map((m) => m.prefix)).toEqual(["d/"]);
    expect(registry.names()).toEqual(["a"]);
    expect(registry.unpublish("d/")).toBe(true);
    expect(registry.get("d/x")).toBeUndefined();
    expect(registry.unpublish("d/")).toBe(false);
  });
});
