-- (Re)index a job for search (queue/search.py). ARGV: id, terms… (`<field>\0<value>` each).
-- Each member adds the job's creation time and id, so one value's matches sort by age.
-- Returns 1, or 0 when the job is gone (so nothing is indexed for it).
local id = ARGV[1]
local created = redis.call('HGET', jkey(id), 'created')
if not created then return 0 end
unindex(id)
local suffix = '\0' .. string.format('%013d', tonumber(created)) .. '\0' .. id
local members, args = {}, {}
for i = 2, #ARGV do
  members[#members + 1] = ARGV[i] .. suffix
  args[#args + 1] = 0
  args[#args + 1] = members[#members]
end
if #members == 0 then return 1 end
redis.call('ZADD', base .. 'search', unpack(args))
redis.call('HSET', jkey(id), 'ix', table.concat(members, '\n'))
return 1
