-- An enqueue whose answer was lost (Redis too slow, a connection broken): which of its jobs were
-- stored? A job that was not has its id fenced for FENCE_TTL s, so that the enqueue, should it
-- still reach Redis (a frozen server runs what its sockets hold once it resumes), stores nothing.
-- One atomic step for all of them, as a flow's transaction stores all of its jobs or none.
-- KEYS[i]: the key prefix of job i's queue.  ARGV: FENCE_TTL, then the job ids.
-- Returns, per job, 1 (stored) or 0 (not stored, and it never will be).
local fence_ttl = ARGV[1]
local stored = {}
for i = 2, #ARGV do
  local prefix, id = KEYS[i - 1], ARGV[i]
  if redis.call('EXISTS', prefix .. 'job:' .. id) == 1 then
    stored[i - 1] = 1
  else
    redis.call('SET', prefix .. 'fenced:' .. id, '1', 'EX', fence_ttl)
    stored[i - 1] = 0
  end
end
return stored
