-- wrk script for the release instant under load: every answer is classed by the wall-clock
-- time it arrived at, against the instant INSTANT (Unix seconds, fractional).
-- Counts: 2xx before the instant (a leak), non-200 answers more than 1 s after it, 5xx, and
-- the first 200 and last non-200 times; `done` sums the threads and prints one JSON line.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } justat_timeval;
  int gettimeofday(justat_timeval *tv, void *tz);
]]
local tv = ffi.new("justat_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  instant = tonumber(os.getenv("INSTANT"))
  answers, before, after, early_2xx, late_non200, errors_5xx = 0, 0, 0, 0, 0, 0
  first_200, last_non200 = 0, 0
end

function response(status, headers, body)
  local t = now()
  answers = answers + 1
  if t < instant then before = before + 1 else after = after + 1 end
  if status >= 500 then errors_5xx = errors_5xx + 1 end
  if t < instant and status >= 200 and status < 300 then early_2xx = early_2xx + 1 end
  if t >= instant + 1 and status ~= 200 then late_non200 = late_non200 + 1 end
  if status == 200 and (first_200 == 0 or t < first_200) then first_200 = t end
  if status ~= 200 and t > last_non200 then last_non200 = t end
end

function done(summary, latency, requests)
  local s = { answers = 0, before = 0, after = 0, early_2xx = 0, late_non200 = 0, errors_5xx = 0 }
  local first, last = 0, 0
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + t:get(k) end
    local f, l = t:get("first_200"), t:get("last_non200")
    if f > 0 and (first == 0 or f < first) then first = f end
    if l > last then last = l end
  end
  local e = summary.errors
  io.write(string.format(
    '{"answers":%d,"before":%d,"after":%d,"early_2xx":%d,"late_non200":%d,"errors_5xx":%d,' ..
    '"first_200_after_instant_s":%.3f,"last_non200_after_instant_s":%.3f,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"p99_ms":%.2f}\n',
    s.answers, s.before, s.after, s.early_2xx, s.late_non200, s.errors_5xx,
    first > 0 and first - tonumber(os.getenv("INSTANT")) or -1,
    last > 0 and last - tonumber(os.getenv("INSTANT")) or -1,
    e.connect, e.read, e.write, e.timeout, latency:percentile(99) / 1000))
end
