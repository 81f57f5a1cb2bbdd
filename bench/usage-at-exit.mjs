// Loaded with `node --import` into a benchmarked product process (`backfill`, `sync`): writes the
// process's own resource usage (CPU, peak RSS) to BENCH_USAGE_FILE as it exits, its memory (RSS, V8
// heap used/total, external) every 2 s, so that what grows with the run's length shows, and the
// peaks of V8's heap and of memory outside it (Buffers), sampled every 100 ms, to tell live data
// from allocator slack. Not part of the product.
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
  const peak = { heapTotal: 0, heapUsed: 0, external: 0 };
  const samplePeak = () => {
    const m = process.memoryUsage();
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  };
  sample();
  setInterval(sample, 2_000).unref();
  setInterval(samplePeak, 100).unref();
  // BENCH_HEAP_SNAPSHOT_AT_MS: a heap snapshot that far into the run (to see what grows).
  const snapshotAt = Number(process.env.BENCH_HEAP_SNAPSHOT_AT_MS ?? 0);
  if (snapshotAt > 0) setTimeout(() => process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`), snapshotAt).unref();
  process.on('exit', () => {
    sample();
    samplePeak();
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        userMs: u.userCPUTime / 1000,
        systemMs: u.systemCPUTime / 1000,
        maxRssKb: u.maxRSS,
        memory,
        peakHeapTotalBytes: peak.heapTotal,
        peakHeapUsedBytes: peak.heapUsed,
        peakExternalBytes: peak.external,
      }),
    );
  });
}
