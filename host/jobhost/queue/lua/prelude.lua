-- Shared by every script. KEYS[1] is the queue's key prefix `<prefix>:{<queue>}:`; every key a
-- script touches is built from it, so all of them sit in the queue's cluster slot.
-- GROUP, TOKEN, DURATION_BOUNDS_MS, DURATION_STEPS, DAY_TTL_S and the *_KEPT / MINUTE_TTL_S
-- limits are injected from Python (scripts.py, from queue/keys.py) ahead of this file; those only
-- handed to redis.call (the *_KEPT but LOG_LINES_KEPT, the TTLs) as text.
local base = KEYS[1]
local stream = base .. 'stream'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function jkey(id) return base .. 'job:' .. id end

-- fn, remembering its answer for each argument for the rest of the script call.
local function memo(fn)
  local answers = {}
  return function(arg)
    local answer = answers[arg]
    if answer == nil then
      answer = fn(arg)
      answers[arg] = answer
    end
    return answer
  end
end

-- An integer as text, each value written once per script call. Lua writes a number with sprintf,
-- and so does redis.call for each number argument: a tenth of what a drain costs Redis, by
-- callgrind, while the values repeat (the script's clock, attempt counts, buckets).
local text = memo(function(n) return string.format('%d', n) end)

-- fn(...) over the items of `list`, at most a thousand at a time (Lua's unpack has a limit).
local function by_thousand(list, fn)
  for i = 1, #list, 1000 do fn(unpack(list, i, math.min(i + 999, #list))) end
end

-- Append to the job's event stream (bounded); `ttl` (seconds) makes it expire after the job ends.
local function event(id, json, ttl)
  local key = base .. 'events:' .. id
  redis.call('XADD', key, 'MAXLEN', EVENTS_KEPT, '*', 'e', json)
  if ttl then redis.call('EXPIRE', key, ttl) end
  -- and to the queue's feed, which the dashboard follows (one XREAD for all of a queue's jobs)
  redis.call('XADD', base .. 'feed', 'MAXLEN', '~', FEED_KEPT, '*', 'id', id, 'e', json)
end

-- A finished job starts over (retry, replay): its events stream lives on (no expiry), and
-- readers start after the last event of the run that ended (`events_after`), not at the old end.
local function new_run(id)
  local key = base .. 'events:' .. id
  redis.call('PERSIST', key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last > 0 then redis.call('HSET', jkey(id), 'events_after', last[1][1]) end
end

local worker_field = memo(function(worker) return ',"worker":' .. cjson.encode(worker) end)
local function state_event(id, state, attempt, now, ttl, worker)
  local by = worker and worker_field(worker) or ''
  event(id, '{"type":"state","state":"' .. state .. '","attempt":' .. text(attempt) .. ',"at":' .. text(now) .. by
    .. '}', ttl)
end

-- The events a completed try emitted (JSON list), kept in the queue's slot until the relay
-- (jobhost/events.py) has queued their deliveries and deletes the entry.
local function outbox(id, events)
  if events ~= '' then redis.call('XADD', base .. 'outbox', '*', 'job', id, 'events', events) end
end

-- The keys a script's tallies go to at `now` (ms), built once per queue and time: the totals, the
-- minute's counters (for rates), a UTC day's counters and try durations (queue/history.py reads
-- them, kept DAY_TTL_S: long enough for last week's report) and the duration histogram.
local tally_keys = {}
local function keys_at(now)
  local k = tally_keys[base]
  if not k or k.now ~= now then
    k = {now = now, totals = base .. 'totals', durations = base .. 'durations',
      minute = base .. 'minute:' .. text(math.floor(now / 60000)),
      day = base .. 'day:' .. text(math.floor(now / 86400000))}
    tally_keys[base] = k
  end
  return k
end

-- What a call counts is tallied here and written once, when the script ends (`at_end`, which
-- scripts.py runs after every script): a batch of fifty completions costs a few HINCRBYs, not
-- fifty times as many. `adds[key][field]` sums, `max_ms[day key]` keeps the day's longest try,
-- `ttls[key]` is the expiry each key gets.
local adds, max_ms, ttls = {}, {}, {}
local function tally(key, field, by, ttl)
  local fields = adds[key]
  if not fields then fields = {}; adds[key] = fields end
  fields[field] = (fields[field] or 0) + by
  if ttl then ttls[key] = ttl end
end

-- Completed/failed/retried/dead counters: totals, per-minute buckets for rates, the day's.
local function count(kind, now)
  local k = keys_at(now)
  tally(k.totals, kind, 1)
  tally(k.minute, kind, 1, MINUTE_TTL_S)
  tally(k.day, kind, 1, DAY_TTL_S)
end

local step_field = memo(function(k) return 'd' .. text(k) end)

-- How long a try ran (it `started` at that ms; nil: never started), into the queue's duration
-- histogram (one bucket per try; the engine sums them up into Prometheus' cumulative form).
local function timed(started, now)
  started = tonumber(started)
  if not started then return end
  local ms = math.max(0, now - started)
  local bucket = 'inf'
  for _, bound in ipairs(DURATION_BOUNDS_MS) do
    if ms <= bound then bucket = text(bound); break end
  end
  local keys = keys_at(now)
  tally(keys.durations, bucket, 1)
  tally(keys.durations, 'sum_ms', ms)
  -- and into the day's log-spaced histogram (`d<k>`: ms ≤ 2^(k/DURATION_STEPS)), with the exact max
  local day = keys.day
  local k = ms > 1 and math.ceil(math.log(ms) / math.log(2) * DURATION_STEPS - 1e-9) or 0
  tally(day, step_field(k), 1, DAY_TTL_S)
  tally(day, 'sum_ms', ms)
  max_ms[day] = math.max(max_ms[day] or 0, ms)
end

local function write_tally()
  for key, fields in pairs(adds) do
    for field, by in pairs(fields) do redis.call('HINCRBY', key, field, by) end
  end
  for day, ms in pairs(max_ms) do
    if ms > (tonumber(redis.call('HGET', day, 'max_ms')) or -1) then redis.call('HSET', day, 'max_ms', ms) end
  end
  for key, ttl in pairs(ttls) do redis.call('EXPIRE', key, ttl) end
end

-- Put a job (back) in line; returns the state it is in now. A job without a priority goes to the
-- tail of the stream as `waiting`. A prioritized one keeps its place (`order`: priority × step +
-- its enqueue sequence) in `prio`, and a marker entry (no id) in the stream wakes a blocked worker.
local function requeue(id, now)
  local jk = jkey(id)
  local order = redis.call('HGET', jk, 'order')
  if order then
    redis.call('HSET', jk, 'state', 'prioritized', 'sid', '', 'run_at', now)
    redis.call('ZADD', base .. 'prio', order, id)
    redis.call('ZADD', base .. 'prioritized', now, id)
    redis.call('XADD', stream, '*', 'id', '')
    return 'prioritized'
  end
  local sid = redis.call('XADD', stream, '*', 'id', id)
  redis.call('HSET', jk, 'state', 'waiting', 'sid', sid, 'run_at', now)
  redis.call('ZADD', base .. 'waiting', now, id)
  return 'waiting'
end

-- A job back from a dead worker waits as a suspect, ahead of the line (`suspects`, by when it
-- came back): claim.lua hands each to a worker with nothing else running and lets that worker
-- run it alone, so if it kills its worker again, no batch-mate dies with it or is blamed. A
-- marker entry in the stream wakes a blocked worker. Returns the state it is in now.
local function quarantine(id, now)
  redis.call('HSET', jkey(id), 'state', 'waiting', 'sid', '', 'run_at', now)
  redis.call('ZADD', base .. 'waiting', now, id)
  redis.call('ZADD', base .. 'suspects', now, id)
  redis.call('XADD', stream, '*', 'id', '')
  return 'waiting'
end

-- The dependencies part (at the end) answers when a job ends (finish) or goes (remove).
local settle_dependents

-- A try's fencing token is its stream entry id, or for a prioritized job (not in the stream)
-- TOKEN followed by a number.
local function streamed(sid) return sid and sid ~= '' and sid:sub(1, #TOKEN) ~= TOKEN end

local function unstream(sid)
  if streamed(sid) then
    redis.call('XACK', stream, GROUP, sid)
    redis.call('XDEL', stream, sid)
  end
end

-- The entries of tries that ended leave their stream in one XTRIM when the script ends (at_end),
-- not in an XDEL each (the dearest command of a completion): the group reads a stream in order,
-- so every entry before one a worker took was delivered too, and nothing reads a delivered
-- entry. `trim_to[stream]`: {ms, seq} of the last such entry.
local trim_to = {}
local function delivered(sid)
  if not streamed(sid) then return end
  redis.call('XACK', stream, GROUP, sid)
  local ms, seq = string.match(sid, '^(%d+)-(%d+)$')
  ms, seq = tonumber(ms), tonumber(seq)
  local last = trim_to[stream]
  if not last or ms > last[1] or (ms == last[1] and seq > last[2]) then trim_to[stream] = {ms, seq} end
end

local function trim_delivered()
  for key, last in pairs(trim_to) do
    redis.call('XTRIM', key, 'MINID', string.format('%d-%d', last[1], last[2] + 1))
  end
end

-- The job's record fields `...` (after its state and sid) if worker token `sid` still holds the
-- job, else nil: a worker whose lease ran out, or that was taken for dead, reports nothing.
local function owned(id, sid, ...)
  local rec = redis.call('HMGET', jkey(id), 'state', 'sid', ...)
  if rec[1] ~= 'active' or rec[2] ~= sid then return nil end
  return rec
end

-- A try is over: the job leaves the stream, the active set and the lease set.
local function leave_active(id, sid)
  delivered(sid)
  redis.call('ZREM', base .. 'active', id)
  redis.call('ZREM', base .. 'leases', id)
end

-- Take a job out of line (cancel, remove): from the stream, the priority or suspect set, and its
-- state set.
local function unqueue(id, state, sid)
  unstream(sid)
  redis.call('ZREM', base .. state, id)
  redis.call('ZREM', base .. 'prio', id)
  redis.call('ZREM', base .. 'suspects', id)
end

-- A job holding deduplication key `unique` (its record's, or nil) until it ends lets go of it
-- (unless the key moved on).
local function release(id, unique)
  if unique and redis.call('GET', base .. 'unique:' .. unique) == id then
    redis.call('DEL', base .. 'unique:' .. unique)
  end
end

local function unsearch(...) redis.call('ZREM', base .. 'search', ...) end

-- Job `id`'s members of the search index (queue/search.py), added to `members`; its record lists
-- them in `ix`. Returns whether it is indexed.
local function indexed(id, members)
  local ix = redis.call('HGET', jkey(id), 'ix')
  if not ix then return false end
  for member in string.gmatch(ix, '[^\n]+') do members[#members + 1] = member end
  return true
end

-- Take a job's members out of the search index.
local function unindex(id)
  local members = {}
  if not indexed(id, members) then return end
  by_thousand(members, unsearch)
  redis.call('HDEL', jkey(id), 'ix')
end

-- Index job `id` (created at `created` ms) for search under `terms` (`<field>\0<value>` each),
-- in place of what it was indexed under. Each member adds the job's creation time and id, so one
-- value's matches sort by age.
local function index(id, created, terms)
  unindex(id)
  if #terms == 0 then return end
  local suffix = '\0' .. string.format('%013d', tonumber(created)) .. '\0' .. id
  local members, args = {}, {}
  for i, term in ipairs(terms) do
    members[i] = term .. suffix
    args[2 * i - 1] = '0'
    args[2 * i] = members[i]
  end
  redis.call('ZADD', base .. 'search', unpack(args))
  redis.call('HSET', jkey(id), 'ix', table.concat(members, '\n'))
end

-- Delete these jobs: their keys and search members, in a few calls for all of them.
local function drop_all(ids)
  local members, keys = {}, {}
  for _, id in ipairs(ids) do
    indexed(id, members)
    keys[#keys + 1] = jkey(id)
    keys[#keys + 1] = base .. 'log:' .. id
    keys[#keys + 1] = base .. 'events:' .. id
  end
  by_thousand(members, unsearch)
  by_thousand(keys, function(...) redis.call('DEL', ...) end)
end

local function drop(id) drop_all({id}) end

-- Remove a job in any state: from the stream, its state set, the lease set; then its keys.
local function remove(id)
  local rec = redis.call('HMGET', jkey(id), 'state', 'sid', 'unique', 'dependents')
  if not rec[1] then return 0 end
  unqueue(id, rec[1], rec[2])
  redis.call('ZREM', base .. 'leases', id)
  release(id, rec[3])
  settle_dependents(id, 'removed', now_ms(), rec[4])
  drop(id)
  return 1
end

-- Keep at most `keep` jobs in a finished-state set, dropping the oldest (a bounded batch per call).
local function trim(state, keep)
  local set = base .. state
  local extra = math.min(redis.call('ZCARD', set) - keep, 1000)
  if extra > 0 then
    drop_all(redis.call('ZRANGE', set, 0, extra - 1))
    redis.call('ZREMRANGEBYRANK', set, 0, extra - 1)
  end
end

-- Finished-state sets to trim when the script ends (once, however many jobs it finished), with
-- the queue (`base`) each belongs to: {base, state, keep}.
local trims = {}

-- A job in a terminal state (a completed one with its `result`): record it, count it, trim the
-- set to its retention. `known`: its record's attempt, unique and dependents, if read already.
local function finish(id, state, now, ttl, keep, result, known)
  local jk = jkey(id)
  local rec = known or redis.call('HMGET', jk, 'attempt', 'unique', 'dependents')
  release(id, rec[2])
  if result then
    redis.call('HSET', jk, 'state', state, 'finished', text(now), 'sid', '', 'result', result)
  else
    redis.call('HSET', jk, 'state', state, 'finished', text(now), 'sid', '')
  end
  redis.call('ZADD', base .. state, text(now), id)
  state_event(id, state, rec[1], now, ttl)
  trims[base .. state] = {base, state, keep}
  settle_dependents(id, state, now, rec[3], result)
end

-- Dependencies. A job enqueued with `depends_on` waits in `waiting-deps` while `pending` of them
-- have not ended; each dependency lists it in its `dependents`. Dependencies may sit in other
-- queues (a non-cluster Redis then): a job's keys are reached from its id.
local PREFIX = string.match(base, '^(.*):{[^{}]*}:$')
local function base_of(id) return PREFIX .. ':{' .. string.match(id, '^[^:]+') .. '}:' end

-- fn(...) run as if in the queue of key prefix `at` (every function here builds keys from `base`).
local function in_queue(at, fn, ...)
  local saved = base
  base, stream = at, at .. 'stream'
  local result = fn(...)
  base, stream = saved, saved .. 'stream'
  return result
end

-- fn(...) run as if in job `id`'s queue.
local function within(id, fn, ...) return in_queue(base_of(id), fn, ...) end

-- The last dependency is settled: in line now, or delayed until the job's own run_at.
local function unblock(id, now)
  redis.call('ZREM', base .. 'waiting-deps', id)
  local run_at = tonumber(redis.call('HGET', jkey(id), 'run_at')) or now
  if run_at > now then
    redis.call('HSET', jkey(id), 'state', 'delayed')
    redis.call('ZADD', base .. 'delayed', run_at, id)
    state_event(id, 'delayed', 0, now)
  else
    state_event(id, requeue(id, now), 0, now)
  end
end

-- Dependency `dep` of job `id` ended in `state` (completed with `result`, dead, cancelled or
-- removed). A failed one fails the job, unless it asked to `run` at once or to `ignore` it.
local function settle(id, dep, state, result, now)
  local jk = jkey(id)
  local rec = redis.call('HMGET', jk, 'state', 'on_dep_fail', 'dead_keep', 'dead_age')
  if rec[1] ~= 'waiting-deps' then return end
  if state == 'completed' then
    redis.call('HSET', jk, 'dep:' .. dep, result or 'null')
  elseif rec[2] == 'run' then
    return unblock(id, now)
  elseif rec[2] ~= 'ignore' then
    redis.call('ZREM', base .. 'waiting-deps', id)
    local n = redis.call('HINCRBY', jk, 'nerr', 1)
    redis.call('HSET', jk, 'e' .. n, cjson.encode({attempt = 0, at = now,
      error = 'DependencyFailed: dependency ' .. dep .. ' is ' .. state}))
    count('dead', now)
    return finish(id, 'dead', now, rec[4], tonumber(rec[3]))
  end
  if redis.call('HINCRBY', jk, 'pending', -1) <= 0 then unblock(id, now) end
end

-- Job `id` ended in `state` (with `result` if completed): its `dependents` (the record's JSON
-- list, or nil) settle it.
settle_dependents = function(id, state, now, dependents, result)
  if not dependents then return end
  for _, dependent in ipairs(cjson.decode(dependents)) do
    within(dependent, settle, dependent, id, state, result, now)
  end
end

-- Job `id` (its record written, `run_at` set) starts waiting for `deps`: those ended already
-- settle now, the others will list it among their dependents.
local function wait_for(id, deps, now)
  redis.call('HSET', jkey(id), 'state', 'waiting-deps', 'pending', #deps, 'sid', '')
  redis.call('ZADD', base .. 'waiting-deps', now, id)
  state_event(id, 'waiting-deps', 0, now)
  for _, dep in ipairs(deps) do
    local dk = base_of(dep) .. 'job:' .. dep
    local rec = redis.call('HMGET', dk, 'state', 'result', 'dependents')
    if rec[1] == 'completed' or rec[1] == 'dead' or rec[1] == 'cancelled' or not rec[1] then
      settle(id, dep, rec[1] or 'removed', rec[2], now)
    else
      local dependents = rec[3] and cjson.decode(rec[3]) or {}
      table.insert(dependents, id)
      redis.call('HSET', dk, 'dependents', cjson.encode(dependents))
    end
  end
end

-- What the script left for its end (scripts.py runs this after every script): the tally, then
-- the trims.
local function at_end()
  write_tally()
  trim_delivered()
  for _, t in pairs(trims) do in_queue(t[1], trim, t[2], t[3]) end
end
