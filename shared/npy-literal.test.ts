import { describe, expect, it } from "vitest";
import { NpyError } from "./npy-errors.ts";
import { formatPyValue, MAX_LITERAL_DEPTH, type PyValue, parsePyLiteral } from "./npy-literal.ts";

const str = (value: string): PyValue => ({ kind: "str", value });
const int = (value: number): PyValue => ({ kind: "int", value: BigInt(value) });
const tuple = (...items: PyValue[]): PyValue => ({ kind: "tuple", items });

/** The repr of what `source` parses to: compact expectations for many variants. */
const repr = (source: string, pythonLongSuffix = false) => formatPyValue(parsePyLiteral(source, { pythonLongSuffix }));

function expectBad(source: string, message: string | RegExp, pythonLongSuffix = false): void {
  let caught: unknown;
  try {
    parsePyLiteral(source, { pythonLongSuffix });
  } catch (err) {
    caught = err;
  }
  expect(caught, JSON.stringify(source)).toBeInstanceOf(NpyError);
  expect((caught as NpyError).code).toBe("E_NPY_BAD_HEADER");
  expect((caught as NpyError).message).toMatch(message);
}

describe("parsePyLiteral", () => {
  it("parses the dict numpy writes, padding and newline included", () => {
    const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }${" ".repeat(60)}\n`;
    expect(parsePyLiteral(header)).toEqual({
      kind: "dict",
      entries: [
        [str("descr"), str("<f8")],
        [str("fortran_order"), { kind: "bool", value: false }],
        [str("shape"), tuple(int(2), int(3))],
      ],
    });
  });

  it("tells tuples from parentheses: () (5,) (5, 6,) ((5,)) and (5) which is 5", () => {
    expect(repr("()")).toBe("()");
    expect(repr("( )")).toBe("()");
    expect(repr("(5,)")).toBe("(5,)");
    expect(repr("(5 , )")).toBe("(5,)");
    expect(repr("(5, 6,)")).toBe("(5, 6)");
    expect(repr("((5,))")).toBe("(5,)");
    expect(repr("(5)")).toBe("5");
    expect(repr("[5, (6,), []]")).toBe("[5, (6,), []]");
    expect(repr("({'a': None},)")).toBe("({'a': None},)");
  });

  it("reads every string form literal_eval reads", () => {
    const variants = [
      `'<f8'`,
      `"<f8"`,
      `'''<f8'''`,
      `"""<f8"""`,
      `u'<f8'`,
      `U"<f8"`,
      `r'<f8'`,
      `R'<f8'`,
      `'<' 'f8'`,
      `'<'"f8"`,
      `'<f\\x38'`,
      `'<f\\70'`,
      `'<f\\u0038'`,
      `'<f\\U00000038'`,
      `'<\\\nf8'`,
      `'<\\\r\nf8'`,
    ];
    for (const source of variants) expect(parsePyLiteral(source), source).toEqual(str("<f8"));
    expect(parsePyLiteral(`'\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\"'`)).toEqual(str("\x07\b\f\n\r\t\v\\'\""));
    expect(parsePyLiteral(`'\\q\\8'`)).toEqual(str("\\q\\8")); // unknown escapes stay as written
    expect(parsePyLiteral(`r'\\x38\\''`)).toEqual(str("\\x38\\'"));
    expect(parsePyLiteral(`'\\777'`)).toEqual(str("\u01ff"));
    expect(parsePyLiteral(`'''a\nb'c'''`)).toEqual(str("a\nb'c"));
    expect(parsePyLiteral(`'€é'`)).toEqual(str("€é"));
    expect(parsePyLiteral(`b'\\xff\\u0041'`)).toEqual({ kind: "bytes", value: "\xff\\u0041" });
    expect(parsePyLiteral(`rb'\\x41'`)).toEqual({ kind: "bytes", value: "\\x41" });
    expect(parsePyLiteral(`Br'a' bR'b'`)).toEqual({ kind: "bytes", value: "ab" });
  });

  it("reads integers in every base, with separators and one sign", () => {
    const cases: [string, string][] = [
      ["0", "0"],
      ["00", "0"],
      ["0_0", "0"],
      ["7", "7"],
      ["1_000", "1000"],
      ["0x1F", "31"],
      ["0X_1f", "31"],
      ["0o17", "15"],
      ["0b101", "5"],
      ["+3", "3"],
      ["-0", "0"],
      ["- 3", "-3"],
      ["123456789012345678901234567890", "123456789012345678901234567890"],
    ];
    for (const [source, expected] of cases) expect(repr(source), source).toBe(expected);
  });

  it("reads True, False and None, and nothing else by name", () => {
    expect(repr("[True, False, None]")).toBe("[True, False, None]");
    for (const name of ["true", "false", "none", "Truex", "x", "inf", "nan"]) {
      expectBad(name, "expected a literal (dict, list, tuple, string, integer, True, False or None)");
    }
  });

  it("skips blanks, comments and line breaks where Python does", () => {
    const dict = "{'a': (1,), }";
    const accepted = [
      `  \t${dict}`,
      `\f${dict}`,
      ` \t\f\f${dict}`,
      `\n${dict}`,
      `\r\n\r${dict}`,
      `#c\n${dict}`,
      `\n  #c\n \n${dict}`,
      `\n\f${dict}`,
      `${dict}  # trailing comment`,
      `${dict}\n\n  \n\f\t\r\n`,
      `${dict}\n #c\n`,
      "{ 'a' :\n (1 ,\r\n # inside\n\f) ,\n }",
    ];
    for (const source of accepted) expect(repr(source), JSON.stringify(source)).toBe("{'a': (1,)}");
  });

  it("refuses an indented value line, as Python refuses it", () => {
    expectBad("\n  {'a': 1}", /expected an unindented value, got " {2}\{'a': 1\}" at 1$/);
    expectBad("\n\f {'a': 1}", "expected an unindented value");
    expectBad("#c\n\t{'a': 1}", "expected an unindented value");
    // Form feeds reset Python's column count; literal_eval strips spaces and tabs only before them.
    expectBad("\f {'a': 1}", "expected an unindented value, got \"\\f {'a': 1}\" at 0");
    expectBad(" \f\t{'a': 1}", "expected an unindented value");
  });

  it("refuses what literal_eval refuses", () => {
    const refused: [string, string | RegExp][] = [
      ["", "expected a literal (dict, list, tuple, string, integer, True, False or None), got end of header at 0"],
      ["{'a': 1} {}", `expected end of the literal, got "{}" at 9`],
      ["{'a': 1}\n x", `expected end of the literal, got "x" at 10`],
      ["{'a': 1,,}", "expected a literal"],
      ["{,}", "expected a literal"],
      ["(,)", "expected a literal"],
      ["[1 2]", "expected ',' or ']'"],
      ["{'a' 1}", "expected ':' after a dict key"],
      ["{'a': 1", "expected ',' or '}', got end of header at 7"],
      ["{'a': 1}\\\n", "expected end of the literal"],
      ["{'a': \\\n 1}", "expected a literal"],
      ["{'a': 1}\v", "expected end of the literal"],
      ["{'a': 1}\u00a0", "expected end of the literal"],
      ["{'a': 1}\0", 'expected no NUL character, got "\\u0000" at 8'],
      ["{'a': '\0'}", "expected no NUL character"],
      ["{'a': 1} # \0\n", "expected no NUL character"],
      ["\ufeff{'a': 1}", "expected a literal"],
      ["--3", "expected an integer literal"],
      ["-True", "expected an integer literal"],
      ["-(3)", "expected an integer literal"],
      ["(1,)*2", "expected end of the literal"],
      ["1 + 2", "expected end of the literal"],
      ["f'<f8'", "expected a literal"],
      ["ur'<f8'", "expected a literal"],
      ["'<f8", "expected closing '"],
      ["'<f8\n'", "expected closing ' on the same line"],
      ["'''<f8''", "expected closing '''"],
      ["'<f8\\", "expected closing '"],
      ["b'é'", "expected only ASCII characters in a bytes literal"],
      ["'a' b'b'", "expected another str literal, not bytes"],
      ["'\\x3'", "expected \\x and 2 hex digits"],
      ["'\\u003'", "expected \\u and 4 hex digits"],
      ["'\\U00110000'", "expected \\U and 8 hex digits"],
      ["'\\N{DIGIT EIGHT}'", "expected no \\N{...} escape"],
    ];
    for (const [source, message] of refused) expectBad(source, message);
  });

  it("refuses floats, complex numbers and malformed integers", () => {
    for (const source of ["3.0", "3.", "1e3", "3j", "03", "1__0", "3_", "0x", "0b2", "3abc", "3é", ".5"]) {
      expectBad(source, source === ".5" ? "expected a literal" : "expected an integer literal (no floats)");
    }
  });

  it("drops Python 2's L suffix only when asked (numpy does for format 1.0 and 2.0)", () => {
    expect(repr("(3L, 4 L, 0x1FL, -2L)", true)).toBe("(3, 4, 31, -2)");
    expectBad("(3L,)", "expected an integer literal");
    expectBad("(3LL,)", "expected an integer literal", true);
    expectBad("(3l,)", "expected an integer literal", true);
    expectBad("(3L5,)", "expected an integer literal", true);
    expectBad("(3\nL,)", "expected ',' or ')'", true);
  });

  it("accepts exactly MAX_LITERAL_DEPTH nested brackets", () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    expect(parsePyLiteral(nested(MAX_LITERAL_DEPTH)).kind).toBe("list");
    expectBad(nested(MAX_LITERAL_DEPTH + 1), `expected at most ${MAX_LITERAL_DEPTH} nested brackets, got "[]`);
    expectBad("(".repeat(100_000), `expected at most ${MAX_LITERAL_DEPTH} nested brackets`);
  });

  it("reports errors as NpyError E_NPY_BAD_HEADER with what, expected, got and where", () => {
    expect(() => parsePyLiteral("{'a': 1.5}")).toThrow(
      new NpyError("E_NPY_BAD_HEADER", 'Invalid .npy header: expected an integer literal (no floats), got ".5}" at 7'),
    );
  });
});

describe("formatPyValue", () => {
  it("writes Python's repr", () => {
    expect(formatPyValue(parsePyLiteral("[('f0', '<f8'), ('€é', '<i4', (2, 3))]"))).toBe(
      "[('f0', '<f8'), ('€é', '<i4', (2, 3))]",
    );
    expect(formatPyValue(str("it's"))).toBe(`"it's"`);
    expect(formatPyValue(str(`it's "x"`))).toBe(`'it\\'s "x"'`);
    expect(formatPyValue(str("a\\b\n\r\t\0\x7f"))).toBe("'a\\\\b\\n\\r\\t\\x00\\x7f'");
    expect(formatPyValue({ kind: "bytes", value: "a\xff" })).toBe("b'a\\xff'");
    expect(formatPyValue(parsePyLiteral("{1: None, -2: (True,)}"))).toBe("{1: None, -2: (True,)}");
  });
});
