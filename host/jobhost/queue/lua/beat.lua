-- A worker's heartbeat on one queue: it is alive for the next `alive_ms`. The reaper (tick.lua)
-- hands back the jobs of a worker whose time ran out, without waiting for their leases.
local worker, alive_ms = ARGV[1], tonumber(ARGV[2])
redis.call('ZADD', base .. 'alive', now_ms() + alive_ms, worker)
return 1
