-- A worker shutting down hands a running job back at once, without spending its try (a suspect
-- stays one); a job an operator asked to cancel ends cancelled instead. Returns 0 when the worker
-- (token `sid`) no longer holds the job.
local id, sid, keep_count, keep_age_s = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local rec = owned(id, sid, 'attempt', 'cancel', 'run')
if not rec then return 0 end
local now = now_ms()
leave_active(id, sid)
if rec[4] then
  finish(id, 'cancelled', now, keep_age_s, keep_count)
  return 1
end
local attempt = tonumber(rec[3]) - 1
redis.call('HSET', jkey(id), 'attempt', attempt)
local back = rec[5] == 'suspect' and quarantine or requeue
state_event(id, back(id, now), attempt, now)
return 1
