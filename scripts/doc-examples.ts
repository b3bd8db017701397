/**
 * The README's and SECURITY.md's examples as files (docs/examples/): each fenced block that
 * follows a `<!-- example: docs/examples/... -->` marker must be that file, byte for byte, so
 * that the examples CI runs are the ones people read. Used by scripts/doc-examples.test.ts (Node),
 * e2e/layouts.spec.ts (Chromium) and e2e/fresh-app.spec.ts (a fresh `npm create vite` app).
 *
 * Examples name the ports a reader would use (8080 for arrays, 5173 for Vite); tests run them on
 * free ports by replacing those two numbers, and nothing else.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("..", import.meta.url));

/** One marked block of a document. */
export interface DocExample {
  /** The document, relative to the repository ("README.md"). */
  doc: string;
  /** The example file it shows, relative to the repository. */
  file: string;
  /** The block's text (without the fences), ending with a newline. */
  text: string;
  /** The fence's language ("ts", "sh"). */
  lang: string;
}

const MARKER = /^<!-- example: (\S+) -->$/;

/**
 * The marked blocks of `doc`, and the fenced ts blocks that carry no marker (which a test
 * refuses: every TypeScript example must run).
 */
export function examplesOf(doc: string): { examples: DocExample[]; unmarkedTs: number[] } {
  const lines = readFileSync(`${REPO}${doc}`, "utf8").split("\n");
  const examples: DocExample[] = [];
  const unmarkedTs: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)$/.exec(lines[i] as string);
    if (!fence || fence[1] === "") continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${doc}:${i + 1}: an unclosed code block`);
    const marker = MARKER.exec(lines[i - 2] ?? "") ?? MARKER.exec(lines[i - 1] ?? "");
    if (marker) {
      examples.push({
        doc,
        file: marker[1] as string,
        text: `${lines.slice(i + 1, end).join("\n")}\n`,
        lang: fence[1] as string,
      });
    } else if (fence[1] === "ts") {
      unmarkedTs.push(i + 1);
    }
    i = end;
  }
  return { examples, unmarkedTs };
}

/** The documents whose examples are checked. */
export const DOCS = ["README.md", "SECURITY.md"] as const;

/** Every marked example of every document. */
export function allExamples(): DocExample[] {
  return DOCS.flatMap((doc) => examplesOf(doc).examples);
}

/** An example's text with the reader's ports replaced by the test's. */
export function withPorts(text: string, ports: { arrays: number; page: number }): string {
  return text.replaceAll("8080", String(ports.arrays)).replaceAll("5173", String(ports.page));
}
