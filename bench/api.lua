-- api.lua: wrk replays requests signed by bench/api_presign (wrk's Lua has
-- no HMAC, and the server refuses a nonce twice, so no request is sent
-- twice). Thread k of n takes records k, k+n, k+2n... of the file; a thread
-- that has sent all of its records stops.
--   wrk -t N -c C -d D --latency -s bench/api.lua URL -- FILE N [RATE]
-- With RATE (requests per second in all), the requests are paced: each
-- thread sends at RATE/N a second on a fixed schedule (an open loop, as
-- wrk2 does), so the latency is that of a server offered RATE, not of one
-- driven as fast as it answers.
local next_thread = 0
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } api_lua_timespec;
  int clock_gettime(int clk, api_lua_timespec *ts);
]]
local ts = ffi.new("api_lua_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval, next_at

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local reqs, i, sent, bad = {}, 0, 0, 0

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local rate = tonumber(args[3] or "")
  if rate and rate > 0 then
    interval = 1000 * nthreads / rate
  end
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local pos, k, tid = 1, 0, wrk.thread:get("tid")
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    if not nl then break end
    local len = tonumber(string.sub(data, pos, nl - 1))
    if k % nthreads == tid then
      reqs[#reqs + 1] = string.sub(data, nl + 1, nl + len)
    end
    k = k + 1
    pos = nl + 1 + len
  end
end

function request()
  i = i + 1
  if i > #reqs then
    -- Out of signed requests: stop rather than replay a nonce.
    wrk.thread:stop()
    i = #reqs
  end
  return reqs[i]
end

function delay()
  if not interval then
    return 0
  end
  local t = now_ms()
  next_at = next_at or t
  local d = next_at - t
  next_at = next_at + interval
  if d < 0 then
    return 0
  end
  return d
end

function response(status, headers, body)
  sent = sent + 1
  if status >= 300 then
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("api.lua: HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end
