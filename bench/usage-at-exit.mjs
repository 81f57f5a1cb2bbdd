// Loaded with `node --import` into a benchmarked product process: writes the process's own
// resource usage (CPU, peak RSS) to BENCH_USAGE_FILE as it exits, and the peaks of V8's heap and
// of memory outside it (Buffers), sampled every 100 ms, to tell live data from allocator slack.
// Not part of the product.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  const peak = { heapTotal: 0, heapUsed: 0, external: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  };
  setInterval(sample, 100).unref();
  process.on('exit', () => {
    sample();
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        userMs: u.userCPUTime / 1000,
        systemMs: u.systemCPUTime / 1000,
        maxRssKb: u.maxRSS,
        peakHeapTotalBytes: peak.heapTotal,
        peakHeapUsedBytes: peak.heapUsed,
        peakExternalBytes: peak.external,
      }),
    );
  });
}
