-- A try failed: the job is delayed for `retry_ms` ('' = no retry: dead). Returns 0 when the
-- worker (token `sid`) no longer holds the job.
local id, sid, failure, retry_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local keep_count, keep_age_s = tonumber(ARGV[5]), ARGV[6]
local rec = owned(id, sid, 'attempt', 'started')
if not rec then return 0 end
local jk = jkey(id)
local now = now_ms()
leave_active(id, sid)
local n = redis.call('HINCRBY', jk, 'nerr', 1)
redis.call('HSET', jk, 'e' .. n, failure)
timed(rec[4], now)
count('failed', now)
if retry_ms then
  count('retried', now)
  local at = now + retry_ms
  redis.call('HSET', jk, 'state', 'delayed', 'run_at', at, 'sid', '')
  redis.call('ZADD', base .. 'delayed', at, id)
  state_event(id, 'delayed', rec[3], now)
else
  count('dead', now)
  finish(id, 'dead', now, keep_age_s, keep_count)
end
return 1
