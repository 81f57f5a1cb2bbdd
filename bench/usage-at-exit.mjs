// Loaded with `node --import` into the benchmarked `backfill` process: writes the process's own
// resource usage (CPU, peak RSS) to BENCH_USAGE_FILE as it exits, and its memory (RSS, V8 heap
// used/total, external) every 2 s, so that what grows with the run's length shows. Not part of the product.
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  const memory = [];
  const sample = () => {
    const m = process.memoryUsage();
    memory.push({
      at: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    });
  };
  sample();
  setInterval(sample, 2_000).unref();
  // BENCH_HEAP_SNAPSHOT_AT_MS: a heap snapshot that far into the run (to see what grows).
  const snapshotAt = Number(process.env.BENCH_HEAP_SNAPSHOT_AT_MS ?? 0);
  if (snapshotAt > 0) setTimeout(() => process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`), snapshotAt).unref();
  process.on('exit', () => {
    sample();
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKb: u.maxRSS, memory }));
  });
}
