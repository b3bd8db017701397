// Types of scripts/test-report.mjs for its TypeScript importer (test-report.test.ts).
export function vitestNames(report: unknown, cwd: string): { failed: string[]; retried: string[] };
export function playwrightFailedNames(report: unknown): string[];
