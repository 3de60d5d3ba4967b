-- wrk script of the benchmark (driven by bench/wrk.py).
--
-- Usage: wrk -t N -c N -s wrk.lua URL -- DATA_FILE KEY_PREFIX
--
-- wrk runs one Lua state per thread and does not say which connection a request is for,
-- so the benchmark runs one connection per thread: each thread then walks its own
-- connection's sequence of requests, like the built-in generator does (a buyer's
-- checkouts never overlap). DATA_FILE (written by wrk.py) returns
-- { path, bodies, tokens, keyed, sequences }.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("connection", #threads)
end

function init(args)
  data = dofile(args[1])
  key_prefix = args[2] .. "-" .. connection .. "-"
  sequence = data.sequences[connection]
  position = 0
  keys = 0
  errors = {}
  prebuilt = {}
  for i, body in ipairs(data.bodies) do
    if not data.keyed[i] then
      prebuilt[i] = wrk.format("POST", data.path, headers_of(i), body)
    end
  end
end

function headers_of(i)
  local headers = { ["Content-Type"] = "application/json" }
  if data.tokens[i] ~= "" then
    headers["Authorization"] = "Bearer " .. data.tokens[i]
  end
  return headers
end

function request()
  position = position % #sequence + 1
  local i = sequence[position]
  if prebuilt[i] then
    return prebuilt[i]
  end
  keys = keys + 1
  -- A fresh idempotency key per checkout (the prefix holds no pattern characters).
  local body = data.bodies[i]:gsub("@KEY@", key_prefix .. keys)
  return wrk.format("POST", data.path, headers_of(i), body)
end

-- A failed response counts under its first GraphQL error code, else its status.
function response(status, headers, body)
  local kind = nil
  if status ~= 200 then
    kind = "HTTP " .. status
  elseif body:find('"errors":', 1, true) then
    kind = body:match('"code":"([%w_]+)"') or "GRAPHQL_ERROR"
  end
  if kind then
    errors[kind] = (errors[kind] or 0) + 1
  end
end

function done(summary, latency, requests)
  local failed = {}
  for _, thread in ipairs(threads) do
    for kind, count in pairs(thread:get("errors")) do
      failed[kind] = (failed[kind] or 0) + count
    end
  end
  local e = summary.errors
  failed["connection"] = e.connect + e.read + e.write + e.timeout
  local kinds = {}
  for kind, count in pairs(failed) do
    table.insert(kinds, string.format('"%s":%d', kind, count))
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"errors":{%s},' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, table.concat(kinds, ","),
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
