// V8 flags both processes run with (npm scripts, the supervisor's fork, the benchmarks). On a
// machine with plenty of memory V8 grows the young generation to tens of MB per semi-space and
// keeps it: measured here, the web app under list traffic levelled off at ~420 MB without the
// flag and ~270 MB with it, the seeder with 1,000 torrents at ~280 vs ~175 MB. Throughput of the
// tracker's HTTP path was unchanged (22.0k vs 23.2k announces/s in one run).
// --expose-gc gives src/media/reclaim.ts the minor GC it runs during uploads (the seeder gets it
// too so that one set of flags serves both units).
export const NODE_FLAGS = ['--max-semi-space-size=4', '--expose-gc']

// The environment both processes start with (npm scripts, the systemd units, the supervisor's
// fork, the benchmarks). glibc raises its mmap threshold to the largest block freed so far, so
// after one password hash (scrypt takes 16 MiB) every later large block comes from a heap that
// is never given back: measured, the web app kept 18 MB more after one log-in, and peaked 19 MB
// higher in a 256 MiB upload. A fixed threshold (glibc's default, 128 KiB) returns each one.
export const RUNTIME_ENV = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' }
