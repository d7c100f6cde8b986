-- Run by every worker and scheduler about twice a second per queue.
-- 1. Move due delayed jobs to the stream. 2. At most once per ARGV[3] ms across all processes:
-- hand expired leases back (or to the dead set once a job used all its deliveries) and trim
-- finished jobs by age.
-- ARGV: completed_age_ms, dead_age_ms, guard_ms, batch, completed_keep, dead_keep,
--       completed_age_s, dead_age_s
-- Returns ms until the next delayed job is due, or -1.
local now = now_ms()
local batch = tonumber(ARGV[4])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'delayed', '-inf', now, 'LIMIT', 0, batch)) do
  redis.call('ZREM', base .. 'delayed', id)
  if redis.call('EXISTS', jkey(id)) == 1 then
    requeue(id, now)
    state_event(id, 'waiting', redis.call('HGET', jkey(id), 'attempt'), now)
  end
end
if redis.call('SET', base .. 'reaper', '1', 'NX', 'PX', ARGV[3]) then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'leases', '-inf', now, 'LIMIT', 0, batch)) do
    redis.call('ZREM', base .. 'leases', id)
    local jk = jkey(id)
    local rec = redis.call('HMGET', jk, 'state', 'sid', 'attempt', 'attempts', 'worker')
    if rec[1] == 'active' then
      redis.call('ZREM', base .. 'active', id)
      unstream(rec[2])
      local n = redis.call('HINCRBY', jk, 'nerr', 1)
      redis.call('HSET', jk, 'e' .. n, cjson.encode({
        attempt = tonumber(rec[3]), at = now,
        error = 'WorkerLost: worker ' .. tostring(rec[5]) .. ' stopped renewing its lease (killed, or hung)'}))
      count('failed', now)
      if tonumber(rec[3]) >= tonumber(rec[4]) then
        count('dead', now)
        finish(id, 'dead', now, ARGV[8], tonumber(ARGV[6]))
      else
        requeue(id, now)
        state_event(id, 'waiting', rec[3], now)
      end
    end
  end
  for _, pair in ipairs({{'completed', ARGV[1]}, {'cancelled', ARGV[1]}, {'dead', ARGV[2]}}) do
    local set = base .. pair[1]
    local old = redis.call('ZRANGEBYSCORE', set, '-inf', now - tonumber(pair[2]), 'LIMIT', 0, batch)
    for _, id in ipairs(old) do
      drop(id)
      redis.call('ZREM', set, id)
    end
  end
end
local nxt = redis.call('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
return math.max(0, tonumber(nxt[2]) - now)
