-- Tries that succeeded: each job is completed with its result, and the events the try emitted
-- go to the queue's outbox in the same step (see outbox). ARGV: keep_count, keep_age_s, then
-- id, sid, result, events (JSON list, or '' for none) for each. Returns 1 per job, or 0 when
-- the worker (token `sid`) no longer holds it.
local keep_count, keep_age_s = tonumber(ARGV[1]), ARGV[2]
local now = now_ms()
local done = {}
for i = 3, #ARGV, 4 do
  local id, sid, result, events = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local rec = owned(id, sid, 'started', 'attempt', 'unique', 'dependents')
  if rec then
    leave_active(id, sid)
    timed(rec[3], now)
    count('completed', now)
    finish(id, 'completed', now, keep_age_s, keep_count, result, {rec[4], rec[5], rec[6]})
    outbox(id, events)
    table.insert(done, 1)
  else
    table.insert(done, 0)
  end
end
return done
