-- Store jobs of one task and put them in line: now, at `run_at_ms` or after `delay_ms` ('' for
-- now); by `priority` (0: none, runs first) with `step` orders per priority level (see requeue).
-- `once_key`: enqueue only if no other call took the key in the last `once_ttl` s (a cron fire).
-- `unique`: while the key holds a live job (for `unique_ttl` s, or until that job ends when ''),
-- answer that job instead; with `debounce`, a waiting or delayed one takes the new kwargs (and
-- the new delay).
-- `deps`: JSON list of job ids it waits for (see wait_for), `on_dep_fail`: fail, run or ignore,
-- with this queue's dead-job retention for a job failed by its dependency.
-- ARGV: the options every job of the call shares, then for each job its id, kwargs (JSON) and
-- the count then the list of the terms search finds it by (`<field>\0<value>`, queue/search.py).
-- Returns one reply per job: {'created', id, now, state, run_at} | {'duplicate', existing id}
-- | {'debounced', existing id} | {'taken'} | {'fenced', id} (an id settle.lua gave up on).
local task, attempts, owner = ARGV[1], ARGV[2], ARGV[3]
local delay_ms, run_at_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local once_key, once_ttl = ARGV[6], ARGV[7]
local priority, step = tonumber(ARGV[8]), tonumber(ARGV[9])
local unique, unique_ttl, debounce = ARGV[10], tonumber(ARGV[11]), ARGV[12] == '1'
local deps, on_dep_fail, dead_keep, dead_age_s = ARGV[13], ARGV[14], ARGV[15], ARGV[16]
local labels = ARGV[17] -- the taskiq labels it was kicked with (JSON), or ''
local origin = ARGV[18] -- the job this one copies, or ''
local JOBS = 19 -- where the jobs start

local now = now_ms()
local run_at_asked = now
if delay_ms then run_at_asked = now + delay_ms elseif run_at_ms then run_at_asked = run_at_ms end

local function enqueue(id, kwargs, terms)
  local run_at = run_at_asked
  if redis.call('EXISTS', jkey(id)) == 1 then return {'duplicate', id} end -- a caller-chosen id
  if redis.call('EXISTS', base .. 'fenced:' .. id) == 1 then return {'fenced', id} end
  if once_key ~= '' and not redis.call('SET', base .. once_key, '1', 'NX', 'EX', once_ttl) then return {'taken'} end
  -- Deduplication
  if unique ~= '' then
    local ukey = base .. 'unique:' .. unique
    local held = redis.call('GET', ukey)
    local state = held and redis.call('HGET', jkey(held), 'state')
    if state then
      if not debounce or not (state == 'waiting' or state == 'prioritized' or state == 'delayed') then
        return {'duplicate', held}
      end
      redis.call('HSET', jkey(held), 'kwargs', kwargs)
      index(held, redis.call('HGET', jkey(held), 'created'), terms)
      if state == 'delayed' then
        redis.call('HSET', jkey(held), 'run_at', run_at)
        redis.call('ZADD', base .. 'delayed', run_at, held)
      end
      if unique_ttl then redis.call('EXPIRE', ukey, unique_ttl) end
      return {'debounced', held}
    end
    if unique_ttl then
      redis.call('SET', ukey, id, 'EX', unique_ttl)
    else
      redis.call('SET', ukey, id)
      redis.call('HSET', jkey(id), 'unique', unique)
    end
  end

  local seq = redis.call('INCR', base .. 'seq')
  redis.call('HSET', jkey(id), 'id', id, 'task', task, 'kwargs', kwargs, 'attempt', 0,
    'attempts', attempts, 'owner', owner, 'created', now)
  index(id, now, terms)
  if labels ~= '' then redis.call('HSET', jkey(id), 'labels', labels) end
  if origin ~= '' then redis.call('HSET', jkey(id), 'origin', origin) end
  if priority > 0 then redis.call('HSET', jkey(id), 'priority', priority, 'order', priority * step + seq) end
  -- Dependencies
  if deps ~= '' then
    redis.call('HSET', jkey(id), 'run_at', run_at, 'deps', deps, 'on_dep_fail', on_dep_fail,
      'dead_keep', dead_keep, 'dead_age', dead_age_s)
    wait_for(id, cjson.decode(deps), now)
    return {'created', id, now, redis.call('HGET', jkey(id), 'state'), run_at}
  end

  local state = 'delayed'
  if run_at > now then
    redis.call('HSET', jkey(id), 'state', 'delayed', 'run_at', run_at, 'sid', '')
    redis.call('ZADD', base .. 'delayed', run_at, id)
  else
    run_at = now
    state = requeue(id, now)
  end
  state_event(id, state, 0, now)
  return {'created', id, now, state, run_at}
end

local replies = {}
local i = JOBS
while i <= #ARGV do
  local n = tonumber(ARGV[i + 2])
  replies[#replies + 1] = enqueue(ARGV[i], ARGV[i + 1], {unpack(ARGV, i + 3, i + 2 + n)})
  i = i + 3 + n
end
return replies
