-- The wrk side of bench/run.mjs, which runs `wrk -t1 -c<connections> -d<seconds>s --latency
-- -s bench/wrk/scenario.lua [-H 'Name: value']... <url>` when a wrk binary is on PATH.
--
-- Configured through the environment rather than through script arguments, because wrk hands
-- those to init() only, while setup() and done() run in another Lua state that never sees them:
--   BENCH_WRK_METHOD           the request method (default GET)
--   BENCH_WRK_EXPECTED_STATUS  the status every response must have; any other one is an error
--                              (wrk's own summary.errors.status counts every status >= 400,
--                              which would make the 401s of the wrong-secret scenario errors)
--   BENCH_WRK_AUTHORIZATIONS   optional: a file with one Authorization header value a line,
--                              sent in turn, one per request (the distinct-keys scenarios)
-- Fixed headers come with wrk's -H. done() prints one JSON line, the last line of the output,
-- for run.mjs to read; wrk's own report comes before it.

wrk.method = os.getenv("BENCH_WRK_METHOD") or "GET"
local expected = tonumber(os.getenv("BENCH_WRK_EXPECTED_STATUS") or "200")
local authorizations_file = os.getenv("BENCH_WRK_AUTHORIZATIONS")

-- The worker threads' Lua states, so that done() can collect their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per worker thread: responses by status. Global, so that thread:get() can read it.
statuses = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

if authorizations_file then
  -- Every request is built once in init(), when wrk.headers is complete (Host is added just
  -- before init runs), so request() only picks the next one: the load generator stays cheap.
  local requests, count, index = {}, 0, 0

  function init(args)
    for authorization in io.lines(authorizations_file) do
      if authorization ~= "" then
        local headers = {}
        for name, value in pairs(wrk.headers) do
          headers[name] = value
        end
        headers["Authorization"] = authorization
        count = count + 1
        requests[count] = wrk.format(nil, nil, headers)
      end
    end
    if count == 0 then
      error("no Authorization header in " .. authorizations_file)
    end
  end

  -- Defined only in this branch: without a request() wrk sends one prebuilt request, faster.
  function request()
    index = index % count + 1
    return requests[index]
  end
end

function done(summary, latency, requests)
  local by_status, responses, unexpected = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
      responses = responses + n
      if status ~= expected then
        unexpected = unexpected + n
      end
    end
  end
  local codes = {}
  for status, n in pairs(by_status) do
    table.insert(codes, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  -- Socket errors and timeouts, plus every response whose status was not the expected one.
  local errors = e.connect + e.read + e.write + e.timeout + unexpected
  -- wrk's latencies are in microseconds; run.mjs reports milliseconds.
  local ms = function(us)
    return us / 1000
  end
  io.write(string.format(
    '{"requests":%d,"responses":%d,"durationSeconds":%.6f,"bytes":%d,' ..
      '"statusCodes":{%s},"unexpectedStatus":%d,' ..
      '"socketErrors":{"connect":%d,"read":%d,"write":%d},"timeouts":%d,"errors":%d,' ..
      '"latencyMs":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f}}\n',
    summary.requests, responses, summary.duration / 1e6, summary.bytes,
    table.concat(codes, ","), unexpected,
    e.connect, e.read, e.write, e.timeout, errors,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency.max)
  ))
end
