-- wrk script for bench/run.py: POSTs JSON bodies, counts responses that are not 200 or carry
-- GraphQL "errors", and prints one JSON line at the end.
--
--   wrk -t1 -c8 -d10s -s bench/wrk.lua URL -- BODIES CYCLE START MODE
--
-- BODIES: a file of request templates, one per line. MODE "hot": the first line is sent
-- every time (a prebuilt request). MODE "cold": request n (counting from START) uses line
-- n mod #lines, with the placeholder @@CYCLE@@ replaced by cycle value floor(n / #lines);
-- CYCLE is "range:LOW:HIGH" (integers) or a file of JSON texts, one per line. A quoted
-- "@@CYCLE@@" is replaced including its quotes, so the value can be a number or a list.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if #line > 0 then
      lines[#lines + 1] = line
    end
  end
  if #lines == 0 then
    error("no lines in " .. path)
  end
  return lines
end

function init(args)
  bodies = read_lines(args[1])
  local spec = args[2] or "range:0:0"
  local low, high = string.match(spec, "^range:(%-?%d+):(%-?%d+)$")
  if low then
    cycle_low, cycle_count, cycle_values = tonumber(low), tonumber(high) - tonumber(low) + 1, nil
  else
    cycle_values = read_lines(spec)
    cycle_count = #cycle_values
  end
  n = tonumber(args[3]) or 0
  errors = 0
  first_error = ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  if args[4] == "hot" then
    wrk.body = bodies[1]
    request = nil -- a static request: wrk builds it once
  end
end

function request()
  local lines = #bodies
  local body = bodies[(n % lines) + 1]
  local index = math.floor(n / lines) % cycle_count
  local value
  if cycle_values then
    value = cycle_values[index + 1]
  else
    value = tostring(cycle_low + index)
  end
  body = string.gsub(body, '"@@CYCLE@@"', value)
  body = string.gsub(body, "@@CYCLE@@", value)
  n = n + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body, 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local errs, first = 0, ""
  for _, thread in ipairs(threads) do
    errs = errs + (thread:get("errors") or 0)
    local f = thread:get("first_error") or ""
    if first == "" then
      first = f
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"graphql_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,' ..
    '"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"first_error":%s}\n',
    summary.requests, summary.duration, summary.bytes, errs,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, json_string(first)))
end
