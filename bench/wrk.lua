-- wrk script for bench/wrk.ts: requests from a file, and a one-line JSON summary on stdout.
--   WRK_ITEMS=<file> WRK_MODE=bearer|body: one token (bearer) or one JSON body (body) per line, used in turn.
--   Without WRK_ITEMS, wrk sends its fixed request (-H headers) and the script only reports.
local items = {}
local mode = os.getenv("WRK_MODE") or "fixed"
local i = 0

function init(args)
  local path = os.getenv("WRK_ITEMS")
  if path and path ~= "" then
    for line in io.lines(path) do
      if line ~= "" then items[#items + 1] = line end
    end
  end
  -- Threads start at different places in the list.
  if #items > 0 then i = math.random(#items) - 1 end
end

if os.getenv("WRK_ITEMS") and os.getenv("WRK_ITEMS") ~= "" then
  function request()
    i = i % #items + 1
    if mode == "bearer" then
      return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. items[i] })
    end
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, items[i])
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local mean = latency.mean
  if summary.requests == 0 or mean ~= mean then mean = 0 end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, mean))
end
