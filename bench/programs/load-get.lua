-- wrk script for bench/load.ts: wrk -s load-get.lua URL -- LIST_FILE SEED
-- GET of a path picked at random from LIST_FILE (one path a line) per request, on keep-alive
-- connections as browsers and API clients use them; no response() hook, so wrk does not copy
-- the bodies into Lua (wrk counts non-2xx/3xx replies itself). Reports wrk's own CPU time in
-- one line `BENCH_JSON {...}`.
local paths = {}
-- BENCH_PACE_MS set: each connection waits a random 0..2x that many ms before each request, so
-- the connections offer a fixed rate (an open load, below capacity) instead of as many as the
-- server can answer.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then function delay() return math.random(0, 2 * pace) end end
function init(args)
  for line in io.lines(args[1]) do if #line > 0 then paths[#paths + 1] = line end end
  math.randomseed(os.time() + (tonumber(args[2]) or 0))
end
function request()
  return wrk.format(nil, paths[math.random(#paths)])
end
function done(summary, latency, requests)
  local fh = io.open("/proc/self/stat"); local st = fh:read("*a"); fh:close()
  local fields = {}
  for w in st:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = w end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"ok":%d,"failures":0,"other":0,"cpu_ticks":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, summary.requests - e.status, tonumber(fields[12]) + tonumber(fields[13])))
end
