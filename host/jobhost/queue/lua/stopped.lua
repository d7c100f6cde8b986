-- A worker stopped a try an operator cancelled (whatever the task did then): the job ends
-- cancelled and is not retried. Returns 0 when the worker (token `sid`) no longer holds the job.
local id, sid, keep_count, keep_age_s = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local rec = owned(id, sid, 'started')
if not rec then return 0 end
local now = now_ms()
leave_active(id, sid)
timed(rec[3], now)
finish(id, 'cancelled', now, keep_age_s, keep_count)
return 1
