// Loaded with `node --import` into the benchmarked `backfill` process: writes the process's own
// resource usage (CPU, peak RSS) to BENCH_USAGE_FILE as it exits. Not part of the product.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKb: u.maxRSS }));
  });
}
