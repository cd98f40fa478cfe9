// Timing for the bench: a warm-up run (first-run allocations, ORT's arena), then timed runs
// until both a minimum count and a minimum time are reached; the fastest run is reported
// (the least disturbed by other processes), with the median alongside.
export interface Timing {
  best: number; // seconds
  median: number;
  runs: number;
}

export async function measure(run: () => Promise<unknown>, { minRuns = 3, minSeconds = 1, maxRuns = 50 } = {}): Promise<Timing> {
  await run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minSeconds * 1000)) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)], runs: times.length };
}
