-- Shared by every script. KEYS[1] is the queue's key prefix `<prefix>:{<queue>}:`; every key a
-- script touches is built from it, so all of them sit in the queue's cluster slot.
local base = KEYS[1]
local stream = base .. 'stream'
local GROUP = 'workers'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function jkey(id) return base .. 'job:' .. id end

-- Append to the job's event stream (bounded); `ttl` (seconds) makes it expire after the job ends.
local function event(id, json, ttl)
  local key = base .. 'events:' .. id
  redis.call('XADD', key, 'MAXLEN', 200, '*', 'e', json)
  if ttl then redis.call('EXPIRE', key, ttl) end
  -- and to the queue's feed, which the dashboard follows (one XREAD for all of a queue's jobs)
  redis.call('XADD', base .. 'feed', 'MAXLEN', '~', 10000, '*', 'id', id, 'e', json)
end

local function state_event(id, state, attempt, now, ttl)
  event(id, '{"type":"state","state":"' .. state .. '","attempt":' .. attempt .. ',"at":' .. now .. '}', ttl)
end

-- Completed/failed/dead counters: totals, and per-minute buckets for rates.
local function count(kind, now)
  redis.call('HINCRBY', base .. 'totals', kind, 1)
  local minute = base .. 'minute:' .. math.floor(now / 60000)
  redis.call('HINCRBY', minute, kind, 1)
  redis.call('EXPIRE', minute, 7200)
end

-- How long a try ran, into the queue's duration histogram (one bucket per try; the engine sums
-- them up into Prometheus' cumulative form). The bounds are DURATION_BUCKETS in keys.py.
local DURATION_BOUNDS_MS = {10, 50, 100, 500, 1000, 5000, 10000, 30000, 60000, 300000, 900000}
local function timed(id, now)
  local started = tonumber(redis.call('HGET', jkey(id), 'started'))
  if not started then return end
  local ms = math.max(0, now - started)
  local bucket = 'inf'
  for _, bound in ipairs(DURATION_BOUNDS_MS) do
    if ms <= bound then bucket = tostring(bound); break end
  end
  redis.call('HINCRBY', base .. 'durations', bucket, 1)
  redis.call('HINCRBY', base .. 'durations', 'sum_ms', ms)
end

-- Put a job (back) at the tail of the stream as `waiting`.
local function requeue(id, now)
  local sid = redis.call('XADD', stream, '*', 'id', id)
  redis.call('HSET', jkey(id), 'state', 'waiting', 'sid', sid, 'run_at', now)
  redis.call('ZADD', base .. 'waiting', now, id)
  return sid
end

local function unstream(sid)
  if sid and sid ~= '' then
    redis.call('XACK', stream, GROUP, sid)
    redis.call('XDEL', stream, sid)
  end
end

-- Take a job's members out of the search index (queue/search.py); the record lists them in `ix`.
local function unindex(id)
  local ix = redis.call('HGET', jkey(id), 'ix')
  if not ix then return end
  local members = {}
  for member in string.gmatch(ix, '[^\n]+') do members[#members + 1] = member end
  if #members > 0 then redis.call('ZREM', base .. 'search', unpack(members)) end
  redis.call('HDEL', jkey(id), 'ix')
end

local function drop(id)
  unindex(id)
  redis.call('DEL', jkey(id), base .. 'log:' .. id, base .. 'events:' .. id)
end

-- Remove a job in any state: from the stream, its state set, the lease set; then its keys.
local function remove(id)
  local rec = redis.call('HMGET', jkey(id), 'state', 'sid')
  if not rec[1] then return 0 end
  unstream(rec[2])
  redis.call('ZREM', base .. rec[1], id)
  redis.call('ZREM', base .. 'leases', id)
  drop(id)
  return 1
end

-- Keep at most `keep` jobs in a finished-state set, dropping the oldest (a bounded batch per call).
local function trim(state, keep)
  local set = base .. state
  local extra = math.min(redis.call('ZCARD', set) - keep, 1000)
  if extra > 0 then
    for _, id in ipairs(redis.call('ZRANGE', set, 0, extra - 1)) do drop(id) end
    redis.call('ZREMRANGEBYRANK', set, 0, extra - 1)
  end
end

-- A job in a terminal state: record it, count it, trim the set to its retention.
local function finish(id, state, now, ttl, keep)
  redis.call('HSET', jkey(id), 'state', state, 'finished', now, 'sid', '')
  redis.call('ZADD', base .. state, now, id)
  state_event(id, state, redis.call('HGET', jkey(id), 'attempt'), now, ttl)
  trim(state, keep)
end

