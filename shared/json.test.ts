import { describe, expect, it } from "vitest";
import { ProtocolError } from "./errors.ts";
import { MAX_JSON_DEPTH, parseJsonObject } from "./json.ts";

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

/** Asserts class, code and the exact message (a RegExp must be anchored to pin it). */
function expectBadJson(text: string, message: string | RegExp, what = "params"): ProtocolError {
  const fn = () => parseJsonObject(text, what);
  expect(fn).toThrow(ProtocolError);
  const error = catchError(fn) as ProtocolError;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.name).toBe("ProtocolError");
  expect(error.code).toBe("E_BAD_JSON");
  if (typeof message === "string") expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  return error;
}

/** `depth` nested objects: {"a":{"a":...{}}}. */
function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;
}

describe("parseJsonObject", () => {
  describe("accepts", () => {
    it("an empty object", () => {
      expect(parseJsonObject("{}", "params")).toEqual({});
    });

    it("an object with every kind of JSON value", () => {
      const text = '{"n":-1.5e3,"s":"x","t":true,"f":false,"z":null,"a":[1,"2",[3]],"o":{"k":"v"}}';
      expect(parseJsonObject(text, "params")).toEqual({
        n: -1500,
        s: "x",
        t: true,
        f: false,
        z: null,
        a: [1, "2", [3]],
        o: { k: "v" },
      });
    });

    it("whitespace around every token", () => {
      expect(parseJsonObject(' \n\t{ "a" :\r 1 , "b" : [ 2 ] } \n', "params")).toEqual({ a: 1, b: [2] });
    });

    it("non-ASCII keys and values", () => {
      expect(parseJsonObject('{"ключ":"值","emoji😀":"é"}', "params")).toEqual({ ключ: "值", "emoji😀": "é" });
    });

    it("the same key in sibling objects", () => {
      expect(parseJsonObject('{"a":{"x":1},"b":{"x":2}}', "params")).toEqual({ a: { x: 1 }, b: { x: 2 } });
    });

    it("the same key at different nesting levels", () => {
      expect(parseJsonObject('{"a":{"a":{"a":1}}}', "params")).toEqual({ a: { a: { a: 1 } } });
    });

    it("the same key in objects that are elements of one array", () => {
      expect(parseJsonObject('{"list":[{"a":1},{"a":2}]}', "params")).toEqual({ list: [{ a: 1 }, { a: 2 }] });
    });

    it("a key reused after its object closed", () => {
      expect(parseJsonObject('{"o":{"k":1},"k":2}', "params")).toEqual({ o: { k: 1 }, k: 2 });
    });

    it("forbidden words as string values rather than keys", () => {
      expect(parseJsonObject('{"a":"__proto__","b":["constructor","prototype"]}', "params")).toEqual({
        a: "__proto__",
        b: ["constructor", "prototype"],
      });
    });

    it("a value string that looks like a key followed by a colon", () => {
      expect(parseJsonObject('{"a":"b:","c":"\\":"}', "params")).toEqual({ a: "b:", c: '":' });
    });

    it("strings holding brackets, braces, quotes and backslashes", () => {
      const text = '{"a":"{[{[","b":"\\"}","c":"\\\\","d":"]}]}"}';
      expect(parseJsonObject(text, "params")).toEqual({ a: "{[{[", b: '"}', c: "\\", d: "]}]}" });
    });

    it("brackets inside strings without counting them as nesting", () => {
      const text = `{"a":"${"[".repeat(MAX_JSON_DEPTH * 2)}"}`;
      expect(parseJsonObject(text, "params")).toEqual({ a: "[".repeat(MAX_JSON_DEPTH * 2) });
    });

    it(`nesting of exactly MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) objects`, () => {
      expect(MAX_JSON_DEPTH).toBe(32);
      expect(() => parseJsonObject(nestedObjects(32), "params")).not.toThrow();
    });

    it("nesting of exactly 32 levels mixing objects and arrays", () => {
      const text = `{"a":${"[".repeat(31)}${"]".repeat(31)}}`;
      expect(() => parseJsonObject(text, "params")).not.toThrow();
    });
  });

  describe("rejects with E_BAD_JSON", () => {
    it("text that is not JSON, keeping the SyntaxError as cause", () => {
      const error = expectBadJson("{", /^Invalid params: not JSON \(.+\)$/);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    });

    it.each([
      ["empty text", ""],
      ["single quotes", "{'a':1}"],
      ["a trailing comma", '{"a":1,}'],
      ["NaN", '{"a":NaN}'],
      ["a comment", '{"a":1 /* c */}'],
      ["two top-level values", "{}{}"],
    ])("%s as not JSON", (_, text) => {
      expectBadJson(text, /^Invalid params: not JSON \(.+\)$/);
    });

    it.each([
      ["null", "null"],
      ["an array", "[]"],
      ["an array", '[{"a":1}]'],
      ["number", "42"],
      ["string", '"{}"'],
      ["boolean", "true"],
    ])("a top level of %s (%s)", (described, text) => {
      expectBadJson(text, `Invalid params: expected a JSON object, got ${described}`);
    });

    it("a duplicate key at the top level", () => {
      expectBadJson('{"a":1,"a":2}', 'Invalid params: duplicate key "a"');
    });

    it("a duplicate key whose values are equal", () => {
      expectBadJson('{"a":1,"b":0,"a":1}', 'Invalid params: duplicate key "a"');
    });

    it("a duplicate key in a nested object", () => {
      expectBadJson('{"o":{"x":1,"y":{},"x":2}}', 'Invalid params: duplicate key "x"');
    });

    it("a duplicate key in an object inside an array", () => {
      expectBadJson('{"list":[1,{"k":1,"k":2}]}', 'Invalid params: duplicate key "k"');
    });

    it("a duplicate key spelled with a unicode escape", () => {
      expectBadJson('{"a":1,"\\u0061":2}', 'Invalid params: duplicate key "a"');
    });

    it("a duplicate key with whitespace before the colon", () => {
      expectBadJson('{"a" : 1, "a"\n:2}', 'Invalid params: duplicate key "a"');
    });

    it("a duplicate key that ends in an escaped backslash", () => {
      expectBadJson('{"a\\\\":1,"a\\\\":2}', 'Invalid params: duplicate key "a\\\\"');
    });

    it("a duplicate empty key", () => {
      expectBadJson('{"":1,"":2}', 'Invalid params: duplicate key ""');
    });

    it('a "__proto__" key at the top level', () => {
      expectBadJson('{"__proto__":{"polluted":true}}', 'Invalid params: forbidden key "__proto__"');
    });

    it('a "__proto__" key in a nested object', () => {
      expectBadJson('{"a":[{"b":{"__proto__":1}}]}', 'Invalid params: forbidden key "__proto__"');
    });

    it('a "__proto__" key spelled with unicode escapes', () => {
      expectBadJson('{"\\u005f\\u005fproto\\u005f\\u005f":1}', 'Invalid params: forbidden key "__proto__"');
    });

    it('a "constructor" key', () => {
      expectBadJson('{"constructor":{"prototype":{}}}', 'Invalid params: forbidden key "constructor"');
    });

    it('a "prototype" key', () => {
      expectBadJson('{"a":{"prototype":1}}', 'Invalid params: forbidden key "prototype"');
    });

    it(`nesting of ${MAX_JSON_DEPTH + 1} objects`, () => {
      expectBadJson(nestedObjects(33), "Invalid params: nesting too deep: expected at most 32 levels");
    });

    it("nesting of 33 levels mixing objects and arrays", () => {
      expectBadJson(
        `{"a":${"[".repeat(32)}${"]".repeat(32)}}`,
        "Invalid params: nesting too deep: expected at most 32 levels",
      );
    });

    it("nesting 100,000 levels deep without overflowing the stack", () => {
      const depth = 100_000;
      expectBadJson(
        `{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`,
        "Invalid params: nesting too deep: expected at most 32 levels",
      );
    });

    it("naming the part it was parsing in the message", () => {
      expectBadJson('{"a":1,"a":2}', 'Invalid meta: duplicate key "a"', "meta");
    });
  });

  it("does not give the result a polluted prototype", () => {
    const value = parseJsonObject('{"a":{"b":1}}', "params");
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).b).toBeUndefined();
  });
});
