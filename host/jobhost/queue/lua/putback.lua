-- A worker shutting down hands a running job back at once, without spending its try.
-- ARGV: id, sid. Returns 0 when the worker no longer holds the job.
local id, sid = ARGV[1], ARGV[2]
local rec = redis.call('HMGET', jkey(id), 'state', 'sid', 'attempt')
if rec[1] ~= 'active' or rec[2] ~= sid then return 0 end
local now = now_ms()
unstream(sid)
redis.call('ZREM', base .. 'active', id)
redis.call('ZREM', base .. 'leases', id)
redis.call('HSET', jkey(id), 'attempt', tonumber(rec[3]) - 1)
state_event(id, requeue(id, now), tonumber(rec[3]) - 1, now)
return 1
