-- Operator actions on one job. ARGV: action, id, [kwargs json | keep_count, age_s]
-- remove: delete the job in any state.                    → 1 | 0 (no such job)
-- retry:  dead/cancelled/completed → in line again with fresh tries (ARGV[3]: new kwargs or '');
--         delayed → in line now, tries kept.
-- cancel: waiting/prioritized/delayed/waiting-deps → cancelled (ARGV[3] keep count, ARGV[4] age s); active:
--         asks its worker to stop it (it then ends cancelled).
-- retry and cancel answer the previous state, 'refused:<state>' when not allowed, 0 if no job.
-- clean:  remove up to ARGV[4] jobs that entered state ARGV[2] over ARGV[3] ms ago → how many
local action, id = ARGV[1], ARGV[2]
local kwargs = ARGV[3] -- retry
local keep_count, keep_age_s = tonumber(ARGV[3]), ARGV[4] -- cancel
local clean_state, older_ms, clean_max = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]) -- clean
if action == 'remove' then return remove(id) end
if action == 'clean' then
  local ids = redis.call('ZRANGEBYSCORE', base .. clean_state, '-inf', now_ms() - older_ms,
    'LIMIT', 0, clean_max)
  for _, old in ipairs(ids) do remove(old) end
  return #ids
end
local jk = jkey(id)
local rec = redis.call('HMGET', jk, 'state', 'sid', 'attempt')
local state = rec[1]
if not state then return 0 end
local now = now_ms()
if action == 'retry' then
  if state ~= 'completed' and state ~= 'dead' and state ~= 'cancelled' and state ~= 'delayed' then
    return 'refused:' .. state
  end
  redis.call('ZREM', base .. state, id)
  local attempt = tonumber(rec[3])
  if state ~= 'delayed' then
    attempt = 0
    redis.call('HSET', jk, 'attempt', 0)
    redis.call('HDEL', jk, 'result', 'finished', 'progress', 'cancel')
    new_run(id)
  end
  if kwargs ~= '' then redis.call('HSET', jk, 'kwargs', kwargs) end
  state_event(id, requeue(id, now), attempt, now)
  return state
end
if action == 'cancel' then
  if state == 'active' then
    redis.call('HSET', jk, 'cancel', now) -- its worker hears of it with its next beat (beat.lua)
    return state
  end
  if state == 'completed' or state == 'dead' or state == 'cancelled' then return 'refused:' .. state end
  unqueue(id, state, rec[2])
  finish(id, 'cancelled', now, keep_age_s, keep_count)
  return state
end
return redis.error_reply('unknown action ' .. action)
