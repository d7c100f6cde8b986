-- ARGV: id, sid, error json, retry delay ms ('' = no retry: dead), keep_dead_count, keep_dead_age_s.
-- Returns 0 when the worker no longer holds the job.
local id, sid = ARGV[1], ARGV[2]
local jk = jkey(id)
local rec = redis.call('HMGET', jk, 'state', 'sid', 'attempt')
if rec[1] ~= 'active' or rec[2] ~= sid then return 0 end
local now = now_ms()
unstream(sid)
local n = redis.call('HINCRBY', jk, 'nerr', 1)
redis.call('HSET', jk, 'e' .. n, ARGV[3])
redis.call('ZREM', base .. 'active', id)
redis.call('ZREM', base .. 'leases', id)
timed(id, now)
count('failed', now)
local delay = tonumber(ARGV[4])
if delay then
  local at = now + delay
  redis.call('HSET', jk, 'state', 'delayed', 'run_at', at, 'sid', '')
  redis.call('ZADD', base .. 'delayed', at, id)
  state_event(id, 'delayed', rec[3], now)
else
  count('dead', now)
  finish(id, 'dead', now, ARGV[6], tonumber(ARGV[5]))
end
return 1
