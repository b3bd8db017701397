/**
 * Which names a published directory answers to. A name is a relative path of segments joined by
 * "/", each a plain file name: no "." or ".." segment, no empty segment (so no leading, trailing
 * or doubled "/"), no hidden file (a leading "."), no trailing dot or space (Windows would drop
 * them and alias another file), no NUL, backslash, "%" (names are never percent-decoded, so
 * "%2e%2e" could only ever be a literal file name; refused so nobody relies on either reading),
 * control character or other character outside printable text, at most 255 UTF-8 bytes a segment
 * and MAX_DEPTH segments. Unicode lookalikes ("．．", "∕") are ordinary characters of one segment:
 * they can name a file of that name and nothing else. What passes is joined to the root's real
 * path; symlinks are then followed only where they stay inside the root (directory.ts).
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Most segments in a name (directory levels below the root, plus the file). */
export const MAX_DEPTH = 16;
const MAX_SEGMENT_BYTES = 255;
/** Printable characters only: no C0/C1 controls, DEL, NUL, separators of other systems or escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\\%:*?"<>|\u2028\u2029\ufeff]/u;

/** Why `name` is not one a directory serves, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "an empty name";
  if (LONE_SURROGATE.test(name)) return "a lone surrogate (not valid UTF-16)";
  const segments = name.split("/");
  if (segments.length > MAX_DEPTH) return `more than ${MAX_DEPTH} levels`;
  for (const segment of segments) {
    if (segment === "") return "an empty segment (a leading, trailing or doubled /)";
    if (segment === "." || segment === "..") return `a ${JSON.stringify(segment)} segment`;
    if (segment.startsWith(".")) return "a hidden file (a segment starting with .)";
    if (/[. ]$/.test(segment)) return "a segment ending with a dot or a space";
    if (FORBIDDEN.test(segment)) return "a control, escape or separator character";
    if (new TextEncoder().encode(segment).byteLength > MAX_SEGMENT_BYTES) {
      return `a segment over ${MAX_SEGMENT_BYTES} bytes`;
    }
  }
  return null;
}
