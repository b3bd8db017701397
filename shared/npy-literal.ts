/**
 * The Python literal subset an .npy header is written in, parsed the way numpy reads it:
 * `ast.literal_eval(header)` (numpy/lib/_format_impl.py `_read_array_header`), plus numpy's
 * `_filter_header` retry that drops Python 2's `L` suffix from integers in format 1.0 and 2.0 files.
 *
 * Accepted (a strict subset of what literal_eval accepts; anything else is E_NPY_BAD_HEADER):
 * - dicts, lists, tuples (`()`, `(5,)`, `(5, 6,)`) and parentheses, trailing commas, nesting up to
 *   {@link MAX_LITERAL_DEPTH};
 * - strings: '...' "..." '''...''' """...""", prefixes r u b br rb (any case), Python's escapes,
 *   adjacent strings concatenated (`'<' 'f8'`);
 * - integers: decimal, 0x / 0o / 0b, `_` separators, one unary sign; `True`, `False`, `None`;
 * - spaces, tabs, form feeds, comments; line breaks inside brackets and around the whole value
 *   (the value's line may not be indented past literal_eval's strip of leading spaces and tabs:
 *   "\f {" and "\n {" are refused, as Python refuses them).
 * Refused, as Python refuses it: a NUL character anywhere.
 * Refused though literal_eval takes them: floats and complex numbers, sets, `\N{name}` escapes,
 * backslash line continuations outside strings, a sign before anything but an integer literal. No
 * valid .npy header contains any of them. numpy's retry of a failed 1.0 / 2.0 header through
 * Python's tokenizer also forgives an indented first line ("\f {"); this parser does not.
 */
import { NpyError } from "./npy-errors.ts";

/** A parsed Python literal. `bytes` holds one char per byte (0..255). */
export type PyValue =
  | { readonly kind: "str"; readonly value: string }
  | { readonly kind: "bytes"; readonly value: string }
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "none" }
  | { readonly kind: "tuple"; readonly items: readonly PyValue[] }
  | { readonly kind: "list"; readonly items: readonly PyValue[] }
  | { readonly kind: "dict"; readonly entries: readonly (readonly [PyValue, PyValue])[] };

/** Deepest bracket nesting accepted (Python's own tokenizer stops at 200). */
export const MAX_LITERAL_DEPTH = 32;

/** Options of {@link parsePyLiteral}. */
export interface PyLiteralOptions {
  /** Drop an `L` after an integer, as numpy does for format 1.0 / 2.0 headers. Defaults to false. */
  readonly pythonLongSuffix?: boolean;
}

const INT_PATTERNS = [
  /0[xX](?:_?[0-9a-fA-F])+/y,
  /0[oO](?:_?[0-7])+/y,
  /0[bB](?:_?[01])+/y,
  /[1-9](?:_?[0-9])*/y,
  /0+(?:_?0)*/y,
];
const STRING_PREFIX = /(?:[bB][rR]?|[rR][bB]?|[uU])?(?=['"])/y;
const NAME = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*/y;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/**
 * Parses `source` as one Python literal.
 * @throws {@link NpyError} `E_NPY_BAD_HEADER` for anything outside the accepted subset, with the
 *   character index in the message.
 */
export function parsePyLiteral(source: string, options: PyLiteralOptions = {}): PyValue {
  return new LiteralParser(source, options.pythonLongSuffix ?? false).parseDocument();
}

class LiteralParser {
  readonly #source: string;
  readonly #longSuffix: boolean;
  #pos = 0;
  #depth = 0;

  constructor(source: string, longSuffix: boolean) {
    this.#source = source;
    this.#longSuffix = longSuffix;
  }

  parseDocument(): PyValue {
    // Python refuses source text with a NUL anywhere, even in a comment or a string.
    const nul = this.#source.indexOf("\0");
    if (nul >= 0) {
      this.#pos = nul;
      this.#fail("no NUL character");
    }
    // literal_eval strips leading spaces and tabs (not form feeds) before Python tokenizes.
    while (this.#source[this.#pos] === " " || this.#source[this.#pos] === "\t") this.#pos++;
    this.#skipLines(true);
    const value = this.#parseValue();
    this.#skipBlanks();
    if (this.#pos < this.#source.length && !this.#atLineEnd()) this.#fail("end of the literal");
    this.#skipLines(false);
    if (this.#pos < this.#source.length) this.#fail("end of the literal");
    return value;
  }

  #fail(expected: string): never {
    const s = this.#source;
    const got = this.#pos >= s.length ? "end of header" : JSON.stringify(s.slice(this.#pos, this.#pos + 12));
    throw new NpyError("E_NPY_BAD_HEADER", `Invalid .npy header: expected ${expected}, got ${got} at ${this.#pos}`);
  }

  #atLineEnd(): boolean {
    const c = this.#source[this.#pos];
    return c === "\n" || c === "\r" || c === "#";
  }

  /** Spaces, tabs, form feeds; inside brackets also line breaks and comments. */
  #skipBlanks(): void {
    const s = this.#source;
    for (;;) {
      const c = s[this.#pos];
      if (c === " " || c === "\t" || c === "\f") this.#pos++;
      else if (this.#depth > 0 && (c === "\n" || c === "\r")) this.#pos++;
      else if (this.#depth > 0 && c === "#") this.#skipComment();
      else return;
    }
  }

  #skipComment(): void {
    const s = this.#source;
    while (this.#pos < s.length && s[this.#pos] !== "\n" && s[this.#pos] !== "\r") this.#pos++;
  }

  /**
   * Blank and comment lines around the value (outside brackets). Before the value, the line the
   * value starts on must not be indented: Python reports "unexpected indent".
   */
  #skipLines(beforeValue: boolean): void {
    const s = this.#source;
    for (;;) {
      const lineStart = this.#pos;
      let column = 0;
      while (s[this.#pos] === " " || s[this.#pos] === "\t" || s[this.#pos] === "\f") {
        column = s[this.#pos] === "\f" ? 0 : column + 1; // a form feed resets Python's column count
        this.#pos++;
      }
      if (s[this.#pos] === "#") this.#skipComment();
      if (s[this.#pos] === "\r" && s[this.#pos + 1] === "\n") this.#pos += 2;
      else if (s[this.#pos] === "\n" || s[this.#pos] === "\r") this.#pos++;
      else if (this.#pos >= s.length) return;
      else {
        if (!beforeValue) return;
        if (column > 0) {
          this.#pos = lineStart;
          this.#fail("an unindented value");
        }
        return;
      }
    }
  }

  #parseValue(): PyValue {
    const s = this.#source;
    const c = s[this.#pos];
    if (c === "{" || c === "[" || c === "(") {
      if (this.#depth >= MAX_LITERAL_DEPTH) this.#fail(`at most ${MAX_LITERAL_DEPTH} nested brackets`);
      this.#depth++;
      this.#pos++;
      this.#skipBlanks();
      const value = c === "{" ? this.#parseDict() : this.#parseSequence(c === "[" ? "]" : ")", c === "(");
      this.#depth--;
      return value;
    }
    if (c === "-" || c === "+") {
      this.#pos++;
      this.#skipBlanks();
      const operand = this.#parseInt();
      return { kind: "int", value: c === "-" ? -operand : operand };
    }
    if (c !== undefined && c >= "0" && c <= "9") return { kind: "int", value: this.#parseInt() };
    STRING_PREFIX.lastIndex = this.#pos;
    if (STRING_PREFIX.test(s)) return this.#parseStrings();
    NAME.lastIndex = this.#pos;
    const name = NAME.exec(s)?.[0];
    if (name === "True" || name === "False" || name === "None") {
      this.#pos += name.length;
      return name === "None" ? { kind: "none" } : { kind: "bool", value: name === "True" };
    }
    return this.#fail("a literal (dict, list, tuple, string, integer, True, False or None)");
  }

  /** After "{": `}` or `key: value` pairs with an optional trailing comma. */
  #parseDict(): PyValue {
    const entries: (readonly [PyValue, PyValue])[] = [];
    while (this.#source[this.#pos] !== "}") {
      const key = this.#parseValue();
      this.#skipBlanks();
      if (this.#source[this.#pos] !== ":") this.#fail("':' after a dict key");
      this.#pos++;
      this.#skipBlanks();
      entries.push([key, this.#parseValue()]);
      if (!this.#skipSeparator("}")) break;
    }
    this.#pos++;
    return { kind: "dict", entries };
  }

  /** After "[" or "(": items up to `close`. `(x)` without a comma is x itself, as in Python. */
  #parseSequence(close: string, isParen: boolean): PyValue {
    const items: PyValue[] = [];
    let sawComma = false;
    while (this.#source[this.#pos] !== close) {
      items.push(this.#parseValue());
      if (!this.#skipSeparator(close)) break;
      sawComma = true;
    }
    this.#pos++;
    if (!isParen) return { kind: "list", items };
    const [only] = items;
    return items.length === 1 && !sawComma && only !== undefined ? only : { kind: "tuple", items };
  }

  /** After an item: `,` (true, more may follow) or `close` (false); blanks skipped. */
  #skipSeparator(close: string): boolean {
    this.#skipBlanks();
    const c = this.#source[this.#pos];
    if (c === ",") {
      this.#pos++;
      this.#skipBlanks();
      return true;
    }
    if (c !== close) this.#fail(`',' or '${close}'`);
    return false;
  }

  #parseInt(): bigint {
    const s = this.#source;
    for (const pattern of INT_PATTERNS) {
      pattern.lastIndex = this.#pos;
      const digits = pattern.exec(s)?.[0];
      if (digits === undefined) continue;
      this.#pos += digits.length;
      if (this.#longSuffix) this.#skipLongSuffix();
      // "03", "1__0", "3.0", "1e3", "3j", "3abc": not an integer literal (floats are never valid here).
      if (/[\w.\u0080-\uffff]/.test(s[this.#pos] ?? "")) break;
      return BigInt(digits.replaceAll("_", ""));
    }
    return this.#fail("an integer literal (no floats)");
  }

  /** `3L` or `3 L`: numpy's _filter_header drops an L name token right after a number. */
  #skipLongSuffix(): void {
    const s = this.#source;
    let i = this.#pos;
    while (s[i] === " " || s[i] === "\t" || s[i] === "\f") i++;
    if (s[i] === "L" && !/[\w\u0080-\uffff]/.test(s[i + 1] ?? "")) this.#pos = i + 1;
  }

  /** One or more adjacent string literals, concatenated (str and bytes do not mix). */
  #parseStrings(): PyValue {
    let kind: "str" | "bytes" | undefined;
    let value = "";
    for (;;) {
      STRING_PREFIX.lastIndex = this.#pos;
      const prefix = STRING_PREFIX.exec(this.#source)?.[0];
      if (prefix === undefined) break;
      const isBytes = /[bB]/.test(prefix);
      const partKind = isBytes ? "bytes" : "str";
      if (kind !== undefined && kind !== partKind) this.#fail(`another ${kind} literal, not ${partKind}`);
      kind = partKind;
      this.#pos += prefix.length;
      value += this.#parseStringBody(/[rR]/.test(prefix), isBytes);
      this.#skipBlanks();
    }
    return { kind: kind ?? "str", value };
  }

  #parseStringBody(raw: boolean, isBytes: boolean): string {
    const s = this.#source;
    const quote = s[this.#pos] as string;
    const triple = s[this.#pos + 1] === quote && s[this.#pos + 2] === quote;
    const delimiter = triple ? quote.repeat(3) : quote;
    this.#pos += delimiter.length;
    let out = "";
    for (;;) {
      const c = s[this.#pos];
      if (c === undefined) return this.#fail(`closing ${delimiter}`);
      if (s.startsWith(delimiter, this.#pos)) {
        this.#pos += delimiter.length;
        return out;
      }
      if (!triple && (c === "\n" || c === "\r")) return this.#fail(`closing ${delimiter} on the same line`);
      if (isBytes && c.charCodeAt(0) > 0x7f) return this.#fail("only ASCII characters in a bytes literal");
      if (c === "\\") {
        const next = s[this.#pos + 1];
        if (next === undefined) return this.#fail(`closing ${delimiter}`);
        if (raw) {
          out += c + next; // a raw string keeps the backslash; it only stops the quote ending the string
          this.#pos += 2;
        } else {
          out += this.#parseEscape(isBytes);
        }
        continue;
      }
      out += c;
      this.#pos++;
    }
  }

  /** At a backslash in a non-raw string: the characters it stands for (Python's escape rules). */
  #parseEscape(isBytes: boolean): string {
    const s = this.#source;
    const next = s[this.#pos + 1] as string;
    this.#pos += 2;
    if (next === "\n") return "";
    if (next === "\r") {
      if (s[this.#pos] === "\n") this.#pos++;
      return "";
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) return simple;
    if (next >= "0" && next <= "7") {
      let digits = next;
      while (digits.length < 3 && /[0-7]/.test(s[this.#pos] ?? "")) digits += s[this.#pos++];
      const code = Number.parseInt(digits, 8);
      return String.fromCharCode(isBytes ? code & 0xff : code);
    }
    const hexLength = next === "x" ? 2 : isBytes ? 0 : next === "u" ? 4 : next === "U" ? 8 : 0;
    if (hexLength > 0) {
      const hex = s.slice(this.#pos, this.#pos + hexLength);
      const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === hexLength ? Number.parseInt(hex, 16) : -1;
      if (code < 0 || code > 0x10ffff) return this.#fail(`\\${next} and ${hexLength} hex digits`);
      this.#pos += hexLength;
      return String.fromCodePoint(code);
    }
    if (next === "N" && !isBytes) return this.#fail("no \\N{...} escape");
    return `\\${next}`; // Python keeps an unknown escape as written
  }
}

/** Python's repr() of a parsed literal, for messages (strings quoted with ' unless they hold '). */
export function formatPyValue(value: PyValue): string {
  switch (value.kind) {
    case "str":
    case "bytes":
      return formatString(value.value, value.kind === "bytes");
    case "int":
      return value.value.toString();
    case "bool":
      return value.value ? "True" : "False";
    case "none":
      return "None";
    case "tuple":
      return value.items.length === 1
        ? `(${formatPyValue(value.items[0] as PyValue)},)`
        : `(${value.items.map(formatPyValue).join(", ")})`;
    case "list":
      return `[${value.items.map(formatPyValue).join(", ")}]`;
    case "dict":
      return `{${value.entries.map(([k, v]) => `${formatPyValue(k)}: ${formatPyValue(v)}`).join(", ")}}`;
  }
}

function formatString(text: string, isBytes: boolean): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f || (isBytes && code > 0x7f))
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${isBytes ? "b" : ""}${quote}${out}${quote}`;
}
