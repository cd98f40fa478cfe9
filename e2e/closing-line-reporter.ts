// Prints one last line CI can read: `N passed, N failed` (`, N skipped` when any were), alone
// on its line, after the list reporter's summary, preceded by the same counts as `e2e: …`
// (the line .ci/run adds to the unit tests' `unit: …`). Counts each test once, by its final outcome:
// flaky (passed on retry) counts as passed; a test that never ran in a failed run counts as failed.
import type { FullResult, Reporter, Suite, TestError } from '@playwright/test/reporter';

class ClosingLineReporter implements Reporter {
  private suite: Suite | undefined;
  private errors = 0;

  onBegin(_config: unknown, suite: Suite) {
    this.suite = suite;
  }

  onError(_error: TestError) {
    this.errors++;
  }

  onEnd(result: FullResult) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const test of this.suite?.allTests() ?? []) {
      const outcome = test.outcome();
      if (outcome === 'expected' || outcome === 'flaky') passed++;
      else if (outcome === 'unexpected') failed++;
      else if (test.results.length === 0 && result.status !== 'passed') failed++; // never ran
      else skipped++;
    }
    // Errors outside any test (config, webServer, global setup) must not read as success.
    if (failed === 0 && result.status !== 'passed') failed = Math.max(1, this.errors);
    const counts = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
    // `.ci/run` sums the runners' "unit: …" and "e2e: …" lines; the bare line closes this run.
    process.stdout.write(`\ne2e: ${counts}\n${counts}\n`);
  }

  printsToStdio() {
    return true;
  }
}

export default ClosingLineReporter;
