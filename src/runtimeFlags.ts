// V8 flags both processes run with (npm scripts, the supervisor's fork, the benchmarks). On a
// machine with plenty of memory V8 grows the young generation to tens of MB per semi-space and
// keeps it: measured here, the web app under list traffic levelled off at ~420 MB without the
// flag and ~270 MB with it, the seeder with 1,000 torrents at ~280 vs ~175 MB. Throughput of the
// tracker's HTTP path was unchanged (22.0k vs 23.2k announces/s in one run).
// --expose-gc gives src/media/reclaim.ts the minor GC it runs during uploads (the seeder gets it
// too so that one set of flags serves both units).
export const NODE_FLAGS = ['--max-semi-space-size=4', '--expose-gc']
