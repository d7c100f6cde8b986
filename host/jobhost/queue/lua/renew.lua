-- One call renews every lease a worker holds on this queue. ARGV: lease_ms, id1, sid1, id2, sid2, ...
-- Returns the ids the worker no longer holds (their lease ran out and they went elsewhere).
local until_ms = now_ms() + tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', jkey(id), 'sid') == ARGV[i + 1] then
    redis.call('ZADD', base .. 'leases', until_ms, id)
  else
    table.insert(lost, id)
  end
end
return lost
