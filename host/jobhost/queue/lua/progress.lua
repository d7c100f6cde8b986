-- ARGV: id, sid, progress json ('' = unchanged), log lines... Returns 0 when the job moved on.
local id, sid = ARGV[1], ARGV[2]
local jk = jkey(id)
if redis.call('HGET', jk, 'sid') ~= sid then return 0 end
if ARGV[3] ~= '' then
  redis.call('HSET', jk, 'progress', ARGV[3])
  event(id, '{"type":"progress","progress":' .. ARGV[3] .. '}')
end
if #ARGV > 3 then
  local log = base .. 'log:' .. id
  for i = 4, #ARGV do
    redis.call('RPUSH', log, ARGV[i])
    event(id, cjson.encode({type = 'log', line = ARGV[i]}))
  end
  redis.call('LTRIM', log, -1000, -1)
end
return 1
