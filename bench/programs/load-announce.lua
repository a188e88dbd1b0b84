-- wrk script for bench/load.ts: wrk -s load-announce.lua URL -- HASH_FILE SEED
-- One HTTP announce per request on an infohash picked at random from HASH_FILE (one
-- percent-encoded info_hash a line), with a fresh random peer_id, port and left (a third are
-- seeders); `Connection: close`, as real clients announce. Counts announce bodies
-- ("d8:complete...") and failures ("d14:failure reason..."), and reports wrk's own CPU time in
-- one line `BENCH_JSON {...}`.
local enc = {}
for i = 0, 255 do enc[i] = string.format("%%%02X", i) end
local hashes = {}
local threads = {}
ok, failures, other = 0, 0, 0
function setup(thread) table.insert(threads, thread) end
-- BENCH_PACE_MS set: each connection waits a random 0..2x that many ms before each request, so
-- the connections offer a fixed rate (an open load, below capacity) instead of as many as the
-- server can answer.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then function delay() return math.random(0, 2 * pace) end end
function init(args)
  for line in io.lines(args[1]) do if #line > 0 then hashes[#hashes + 1] = line end end
  wrk.headers["Connection"] = "close"
  math.randomseed(os.time() + (tonumber(args[2]) or 0))
end
function request()
  local t = {}
  for i = 1, 20 do t[i] = enc[math.random(0, 255)] end
  local left = (math.random(3) == 1) and "0" or "1048576"
  return wrk.format(nil, "/announce?info_hash=" .. hashes[math.random(#hashes)] ..
    "&uploaded=0&downloaded=0&compact=1&numwant=50&peer_id=" .. table.concat(t) ..
    "&port=" .. math.random(1024, 65535) .. "&left=" .. left)
end
function response(status, headers, body)
  if string.sub(body, 1, 11) == "d8:complete" then ok = ok + 1
  elseif string.sub(body, 1, 18) == "d14:failure reason" then failures = failures + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local o, f, x = 0, 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); f = f + t:get("failures"); x = x + t:get("other") end
  local fh = io.open("/proc/self/stat"); local st = fh:read("*a"); fh:close()
  local fields = {}
  for w in st:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = w end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"ok":%d,"failures":%d,"other":%d,"cpu_ticks":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, o, f, x, tonumber(fields[12]) + tonumber(fields[13])))
end
