-- ARGV: id, sid, result json, keep_count, keep_age_s. 0 when the worker no longer holds the job.
local id, sid = ARGV[1], ARGV[2]
local rec = redis.call('HMGET', jkey(id), 'state', 'sid')
if rec[1] ~= 'active' or rec[2] ~= sid then return 0 end
local now = now_ms()
unstream(sid)
redis.call('HSET', jkey(id), 'result', ARGV[3])
redis.call('ZREM', base .. 'active', id)
redis.call('ZREM', base .. 'leases', id)
timed(id, now)
count('completed', now)
finish(id, 'completed', now, ARGV[5], tonumber(ARGV[4]))
return 1
