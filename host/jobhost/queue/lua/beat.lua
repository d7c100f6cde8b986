-- A worker's heartbeat on one queue: it is alive for the next `alive_ms`. The reaper (tick.lua)
-- hands back the jobs of a worker whose time ran out, without waiting for their leases.
-- ARGV[3...]: the jobs it runs on the queue. Returns those an operator asked to cancel.
local worker, alive_ms = ARGV[1], tonumber(ARGV[2])
redis.call('ZADD', base .. 'alive', now_ms() + alive_ms, worker)
local cancel = {}
for i = 3, #ARGV do
  if redis.call('HEXISTS', jkey(ARGV[i]), 'cancel') == 1 then table.insert(cancel, ARGV[i]) end
end
return cancel
