-- Take up to `n` jobs for `consumer`, lease them for `lease_ms`, mark them active. Jobs without a
-- priority come first, in stream order; then prioritized ones, lowest `order` first. With aging
-- on (`step`: later enqueues per priority level), a prioritized job that has aged to level 0
-- (order <= the queue's enqueue sequence) runs before both.
-- Suspects (jobs back from a dead worker, prelude's quarantine) come before all, one at a time and
-- only to a worker with nothing else running, which then runs it alone: `mode` says what else
-- runs in the consumer's process: 'busy' (other jobs), 'idle' (nothing), 'solo' (it runs one job
-- at a time). A busy one is told to drain while suspects wait.
-- Returns {'jobs', id, sid, task, kwargs, attempt, attempts, owner, labels, start in, ...}
--       | {'suspect', <the same fields, of one job>}
--       | {'idle', last stream id} | {'drain'}
--       | {'paused'} | {'limited', ms until a start can be booked}.
local consumer, n, lease_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, per = tonumber(ARGV[4]), tonumber(ARGV[5]) -- rate limit: `limit` starts per `per` ms
local aging, mode = ARGV[6] == '1', ARGV[7]
if redis.call('EXISTS', base .. 'paused') == 1 then return {'paused'} end
local now = now_ms()
-- The rate limit is a sliding window: `rate` holds the start time of each of the last `limit`
-- starts, and a start frees its place `per` ms later. A job may be claimed up to `AHEAD` ms
-- before a place frees: it is booked for that time and its worker waits until then ('start in').
-- So the worker's latency between a place freeing and its next claim costs no starts, and no
-- window of `per` ms ever holds more than `limit` starts.
local rate, slots = base .. 'rate', {}
if limit then
  local ahead = math.min(AHEAD, per)
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - per)
  for _ = 1, math.min(n, limit - redis.call('ZCARD', rate)) do table.insert(slots, {now}) end
  if #slots < n then
    local due = redis.call('ZRANGEBYSCORE', rate, '-inf', now + ahead - per, 'WITHSCORES', 'LIMIT', 0,
      n - #slots)
    for i = 1, #due, 2 do table.insert(slots, {tonumber(due[i + 1]) + per, due[i]}) end
  end
  if #slots == 0 then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
    return {'limited', math.max(tonumber(oldest[2]) + per - ahead - now, 1)}
  end
  n = #slots
end
local out = {'jobs'}
-- How the tries run, for the reaper (tick.lua): alone ('solo', 'suspect') or beside others ('').
local run = mode == 'solo' and 'solo' or ''
local function take(id, sid, from, rec)
  local attempt, start = tonumber(rec[4]) + 1, now
  if limit then
    local slot = table.remove(slots, 1)
    start = slot[1]
    if slot[2] then redis.call('ZREM', rate, slot[2]) end
    redis.call('ZADD', rate, start, sid)
  end
  redis.call('HSET', jkey(id), 'state', 'active', 'sid', sid, 'attempt', text(attempt), 'started', text(start),
    'worker', consumer, 'run', run)
  redis.call('ZREM', base .. from, id)
  redis.call('ZADD', base .. 'active', text(start), id)
  redis.call('ZADD', base .. 'leases', text(start + lease_ms), id)
  -- the one state event naming a worker: the job page shows who ran each try
  state_event(id, 'active', attempt, start, nil, consumer)
  for _, value in ipairs({id, sid, rec[2], rec[3], attempt, rec[5], rec[6], rec[8] or '', start - now}) do
    table.insert(out, value)
  end
  n = n - 1
end
local FIELDS = {'state', 'task', 'kwargs', 'attempt', 'attempts', 'owner', 'sid', 'labels'}
local function token() return TOKEN .. redis.call('INCR', base .. 'tokens') end

local suspects = base .. 'suspects'
if redis.call('EXISTS', suspects) == 1 then
  if mode == 'busy' then return {'drain'} end
  for _, id in ipairs(redis.call('ZRANGE', suspects, 0, 9)) do
    redis.call('ZREM', suspects, id)
    local rec = redis.call('HMGET', jkey(id), unpack(FIELDS))
    if rec[1] == 'waiting' then
      run = 'suspect'
      take(id, token(), 'waiting', rec)
      out[1] = 'suspect'
      return out
    end
  end
end
local function take_prioritized(max_order)
  if n <= 0 then return end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'prio', '-inf', max_order, 'LIMIT', 0, n)) do
    redis.call('ZREM', base .. 'prio', id)
    take(id, token(), 'prioritized', redis.call('HMGET', jkey(id), unpack(FIELDS)))
  end
end

if aging then take_prioritized(tonumber(redis.call('GET', base .. 'seq') or 0)) end
-- Stale entries (a removed, cancelled or superseded job, a priority marker) are dropped on the
-- way; read on until `n` jobs or the end of the stream.
local read_all = false
while n > 0 and not read_all do
  local reply = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', n, 'STREAMS', stream, '>')
  local entries = {}
  if reply and #reply > 0 then
    -- Redis answers {{stream, entries}}; fakeredis answers {stream, entries}.
    if type(reply[1]) == 'string' then entries = reply[2] else entries = reply[1][2] end
  end
  read_all = #entries < n
  for _, entry in ipairs(entries) do
    local sid, id = entry[1], entry[2][2]
    local rec = redis.call('HMGET', jkey(id), unpack(FIELDS))
    if rec[1] == 'waiting' and rec[7] == sid then take(id, sid, 'waiting', rec) else unstream(sid) end
  end
end
take_prioritized('+inf')
if #out > 1 then return out end
local info = redis.call('XINFO', 'STREAM', stream)
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return {'idle', info[i + 1]} end
end
return {'idle', '0-0'}
