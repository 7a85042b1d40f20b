-- api.lua: wrk replays requests signed by bench/api_presign (wrk's Lua has
-- no HMAC, and the server refuses a nonce twice, so no request is sent
-- twice). Thread k of n takes records k, k+n, k+2n... of the file; a thread
-- that has sent all of its records stops.
--   wrk -t N -c C -d D --latency -s bench/api.lua URL -- FILE N
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local reqs, i, sent, bad = {}, 0, 0, 0

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
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

function response(status, headers, body)
  sent = sent + 1
  if status >= 300 then
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("api.lua: HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end
