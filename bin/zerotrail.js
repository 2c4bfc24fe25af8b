#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --v8-pool-size=1
// These settings take effect only when the process starts, so they live on this line (npx zerotrail and
// npm run demo execute this file). V8 would let the young generation grow to 2 × 16 MB while a backfill streams
// pages through it, and glibc would give each busy thread (SQLite on the detection thread, V8's compiler
// threads) a heap of its own that keeps what it freed. Measured with bench/ingest at 1,000,000 events: about
// 40 MB less resident on average and a peak RSS under 250 MB instead of about 280 MB, for about 5% more CPU
// per event (README, "Benchmarks"). Node.js gives V8 four helper threads whatever the machine; on two cores,
// where the collecting and detection threads keep both busy, the collecting thread then waits for the helpers
// of each parallel young-generation collection to be scheduled. One helper: 300,000 events at 10,932-11,679
// events/s against 9,934-10,687 in alternating runs, for about 5 MB more at the peak.
import '../dist/main.js';
