-- ARGV: id, task, kwargs, attempts, owner, delay_ms, run_at_ms, once_key, once_ttl, labels (JSON or '')
-- Returns the creation time (ms), or 0 when `once_key` was already taken (a cron fire).
if ARGV[8] ~= '' and not redis.call('SET', base .. ARGV[8], '1', 'NX', 'EX', ARGV[9]) then return 0 end
local id = ARGV[1]
local now = now_ms()
local run_at = now
if ARGV[6] ~= '' then run_at = now + tonumber(ARGV[6]) elseif ARGV[7] ~= '' then run_at = tonumber(ARGV[7]) end
redis.call('HSET', jkey(id), 'id', id, 'task', ARGV[2], 'kwargs', ARGV[3], 'attempt', 0,
  'attempts', ARGV[4], 'owner', ARGV[5], 'created', now)
if ARGV[10] ~= '' then redis.call('HSET', jkey(id), 'labels', ARGV[10]) end
if run_at > now then
  redis.call('HSET', jkey(id), 'state', 'delayed', 'run_at', run_at, 'sid', '')
  redis.call('ZADD', base .. 'delayed', run_at, id)
  state_event(id, 'delayed', 0, now)
else
  requeue(id, now)
  state_event(id, 'waiting', 0, now)
end
return now
