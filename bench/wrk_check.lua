-- wrk script for bench/gateways.py: POSTs one GraphQL body and checks every response.
--
-- Environment: BENCH_BODY_FILE (the request body), BENCH_EXPECT_FILE (the exact response bytes this
-- gateway gave for it, already checked against our router's `data` by gateways.py). A response that
-- is not status 200 with exactly those bytes counts as bad; gateways.py subtracts the bad ones.
-- done() prints one JSON line (prefixed "BENCH ") with the counts and latency percentiles.

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.body = slurp(os.getenv("BENCH_BODY_FILE"))
  expected = slurp(os.getenv("BENCH_EXPECT_FILE"))
  good = 0
  bad = 0
  first_bad = nil
end

function response(status, headers, body)
  if status == 200 and body == expected then
    good = good + 1
  else
    bad = bad + 1
    if first_bad == nil then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local good_total, bad_total, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    good_total = good_total + thread:get("good")
    bad_total = bad_total + thread:get("bad")
    local fb = thread:get("first_bad")
    if fb ~= nil and sample == "" then sample = fb end
  end
  sample = string.gsub(sample, '[%c"\\]', " ")
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "good": %d, "bad": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "first_bad": "%s"}\n',
    summary.requests, summary.duration, good_total, bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, sample))
end
