-- A try succeeded: the job is completed with its result. Returns 0 when the worker (token `sid`)
-- no longer holds the job.
local id, sid, result, keep_count, keep_age_s = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
if not owned(id, sid) then return 0 end
local now = now_ms()
leave_active(id, sid)
redis.call('HSET', jkey(id), 'result', result)
timed(id, now)
count('completed', now)
finish(id, 'completed', now, keep_age_s, keep_count)
return 1
