-- One call renews every lease a worker holds on this queue. ARGV: lease_ms, id1, sid1, id2, sid2, ...
-- Returns the ids another worker holds now (their lease ran out, or their worker was taken for
-- dead, and they went elsewhere); a job that just ended (its outcome racing this call) is not one.
local lease_ms = tonumber(ARGV[1])
local until_ms = now_ms() + lease_ms
local lost = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local rec = redis.call('HMGET', jkey(id), 'state', 'sid')
  if rec[2] == ARGV[i + 1] then
    redis.call('ZADD', base .. 'leases', until_ms, id)
  elseif rec[1] == 'active' then
    table.insert(lost, id)
  end
end
return lost
