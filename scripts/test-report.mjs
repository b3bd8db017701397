// The names npm test's summary prints (scripts/test.mjs): CI shows only the tail of the output,
// so what failed, and what passed only on the retry CI allows (vitest.config.ts), is named there.

/** " (the first line of the first failure message)", at most 200 characters, or "". */
function firstLine(assertion) {
  const line = String(assertion.failureMessages?.[0] ?? "").split("\n")[0];
  return line ? ` (${line.slice(0, 200)})` : "";
}

/**
 * From Vitest's JSON report: the tests that failed (and files that failed to run), and those that
 * passed after failing (a retry), as "vitest <file relative to cwd>: <full name> (<error>)".
 */
export function vitestNames(report, cwd) {
  const failed = [];
  const retried = [];
  for (const file of report?.testResults ?? []) {
    const where = `vitest ${file.name.replace(`${cwd}/`, "")}`;
    const assertions = file.assertionResults ?? [];
    for (const a of assertions) {
      if (a.status === "failed") failed.push(`${where}: ${a.fullName}${firstLine(a)}`);
      else if (a.status === "passed" && (a.failureMessages ?? []).length > 0) {
        retried.push(`${where}: ${a.fullName}${firstLine(a)}`);
      }
    }
    if (assertions.length === 0 && file.status === "failed") {
      failed.push(`${where}: ${String(file.message ?? "failed to run").split("\n")[0]}`);
    }
  }
  return { failed, retried };
}

/** From Playwright's JSON report: the unexpected and flaky tests, as "playwright <file>: <describe > title> (<status>)". */
export function playwrightFailedNames(report) {
  const names = [];
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status === "unexpected" || t.status === "flaky") {
          names.push(`playwright ${spec.file}: ${[...titles, spec.title].join(" > ")} (${t.status})`);
        }
      }
    }
    for (const child of suite.suites ?? []) walk(child, child.title === child.file ? titles : [...titles, child.title]);
  };
  for (const suite of report?.suites ?? []) walk(suite, []);
  return names;
}
