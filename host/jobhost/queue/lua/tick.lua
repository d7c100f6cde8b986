-- Run by every worker and scheduler about twice a second per queue.
-- 1. Move due delayed jobs to the stream. 2. At most once per `guard_ms` across all processes:
-- hand back the jobs of workers that stopped beating and of expired leases, as suspects (or send
-- them to the dead set once a job used all its tries), and trim finished jobs by age.
-- Returns ms until the next delayed job is due, or -1.
local completed_age_ms, dead_age_ms, guard_ms, batch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local dead_keep, dead_age_s = tonumber(ARGV[5]), ARGV[6]
local completed_keep, completed_age_s = tonumber(ARGV[7]), ARGV[8]
local dead_consumer_ms = tonumber(ARGV[9]) -- a consumer idle this long with nothing pending is gone
local now = now_ms()

-- A try whose worker is gone comes back a suspect, to run alone (prelude's quarantine). The try
-- counts only if the job ran alone (`run`: 'solo', its worker runs one job at a time, or
-- 'suspect'): then the job is the one that killed its worker, or at worst unlucky. Beside others
-- it may have died for a batch-mate's crash, so it gets its try back. A job that used all its
-- tries is dead; one an operator asked to cancel ends cancelled.
local function lost(id, why)
  local jk = jkey(id)
  local rec = redis.call('HMGET', jk, 'state', 'sid', 'attempt', 'attempts', 'worker', 'cancel', 'run')
  if rec[1] ~= 'active' then return end
  leave_active(id, rec[2])
  if rec[6] then return finish(id, 'cancelled', now, completed_age_s, completed_keep) end
  local attempt = tonumber(rec[3])
  local error = 'WorkerLost: worker ' .. tostring(rec[5]) .. ' ' .. why
  local alone = rec[7] == 'solo' or rec[7] == 'suspect'
  if alone then
    local crashes = redis.call('HINCRBY', jk, 'crashes', 1)
    error = error .. ' while it ran this job alone (' .. crashes .. (crashes == 1 and ' time' or ' times') .. ')'
    count('failed', now)
  else
    redis.call('HSET', jk, 'attempt', attempt - 1)
    error = error .. ' while it ran this job beside others: not counted as a try; the job runs alone next'
  end
  local dead = alone and attempt >= tonumber(rec[4])
  if dead then error = error .. '; no tries left: the job kills its worker' end
  local n = redis.call('HINCRBY', jk, 'nerr', 1)
  redis.call('HSET', jk, 'e' .. n, cjson.encode({attempt = attempt, at = now, error = error}))
  if dead then
    count('dead', now)
    finish(id, 'dead', now, dead_age_s, dead_keep)
  else
    count('retried', now)
    state_event(id, quarantine(id, now), alone and attempt or attempt - 1, now)
  end
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'delayed', '-inf', now, 'LIMIT', 0, batch)) do
  redis.call('ZREM', base .. 'delayed', id)
  if redis.call('EXISTS', jkey(id)) == 1 then
    state_event(id, requeue(id, now), redis.call('HGET', jkey(id), 'attempt'), now)
  end
end
if redis.call('SET', base .. 'reaper', '1', 'NX', 'PX', guard_ms) then
  -- Workers that stopped beating (killed): their jobs come back in seconds, whatever the lease.
  local silent = redis.call('ZRANGEBYSCORE', base .. 'alive', '-inf', now, 'LIMIT', 0, batch)
  if #silent > 0 then
    local gone = {}
    for _, worker in ipairs(silent) do gone[worker] = true end
    for _, id in ipairs(redis.call('ZRANGE', base .. 'active', 0, -1)) do
      if gone[redis.call('HGET', jkey(id), 'worker')] then lost(id, 'stopped sending heartbeats (killed?)') end
    end
    redis.call('ZREM', base .. 'alive', unpack(silent))
  end
  -- Workers that beat but stopped renewing a lease (a hung task or event loop).
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'leases', '-inf', now, 'LIMIT', 0, batch)) do
    redis.call('ZREM', base .. 'leases', id)
    lost(id, 'stopped renewing its lease (killed, or hung)')
  end
  -- Every worker process ever started joined the group as a consumer: drop those with nothing
  -- pending that have not read for `dead_consumer_ms` (a live worker that reads again is added
  -- back by XREADGROUP), so restarts and crash loops do not grow the group without end.
  local consumers = redis.pcall('XINFO', 'CONSUMERS', stream, GROUP)
  if type(consumers) == 'table' and not consumers.err then
    for _, c in ipairs(consumers) do
      local f = {}
      for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
      if tonumber(f['pending']) == 0 and tonumber(f['idle']) > dead_consumer_ms then
        redis.call('XGROUP', 'DELCONSUMER', stream, GROUP, f['name'])
      end
    end
  end
  for _, pair in ipairs({{'completed', completed_age_ms}, {'cancelled', completed_age_ms}, {'dead', dead_age_ms}}) do
    local set = base .. pair[1]
    local old = redis.call('ZRANGEBYSCORE', set, '-inf', now - tonumber(pair[2]), 'LIMIT', 0, batch)
    for _, id in ipairs(old) do
      drop(id)
      redis.call('ZREM', set, id)
    end
  end
end
local nxt = redis.call('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
return math.max(0, tonumber(nxt[2]) - now)
