-- Take up to ARGV[2] jobs for consumer ARGV[1], lease them for ARGV[3] ms, mark them active.
-- ARGV[4], ARGV[5]: rate limit (count per ms), '' for none.
-- Returns {'jobs', id, sid, task, kwargs, attempt, attempts, owner, labels, ...} | {'idle', last stream id}
--       | {'paused'} | {'limited', ms until a start is allowed}.
if redis.call('EXISTS', base .. 'paused') == 1 then return {'paused'} end
local now = now_ms()
local n = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
local rate = base .. 'rate'
if limit then
  local per = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - per)
  local free = limit - redis.call('ZCARD', rate)
  if free <= 0 then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
    return {'limited', tonumber(oldest[2]) + per - now}
  end
  n = math.min(n, free)
end
local reply = redis.call('XREADGROUP', 'GROUP', GROUP, ARGV[1], 'COUNT', n, 'STREAMS', stream, '>')
local entries = {}
if reply and #reply > 0 then
  -- Redis answers {{stream, entries}}; fakeredis answers {stream, entries}.
  if type(reply[1]) == 'string' then entries = reply[2] else entries = reply[1][2] end
end
if #entries == 0 then
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return {'idle', info[i + 1]} end
  end
  return {'idle', '0-0'}
end
local out = {'jobs'}
local lease_until = now + tonumber(ARGV[3])
for _, entry in ipairs(entries) do
  local sid, id = entry[1], entry[2][2]
  local jk = jkey(id)
  local rec = redis.call('HMGET', jk, 'state', 'sid', 'task', 'kwargs', 'attempt', 'attempts', 'owner', 'labels')
  if rec[1] ~= 'waiting' or rec[2] ~= sid then
    unstream(sid) -- removed, cancelled or superseded meanwhile
  else
    local attempt = tonumber(rec[5]) + 1
    redis.call('HSET', jk, 'state', 'active', 'attempt', attempt, 'started', now, 'worker', ARGV[1])
    redis.call('ZREM', base .. 'waiting', id)
    redis.call('ZADD', base .. 'active', now, id)
    redis.call('ZADD', base .. 'leases', lease_until, id)
    if limit then redis.call('ZADD', rate, now, sid) end
    state_event(id, 'active', attempt, now)
    table.insert(out, id)
    table.insert(out, sid)
    table.insert(out, rec[3])
    table.insert(out, rec[4])
    table.insert(out, attempt)
    table.insert(out, rec[6])
    table.insert(out, rec[7])
    table.insert(out, rec[8] or '')
  end
end
return out
