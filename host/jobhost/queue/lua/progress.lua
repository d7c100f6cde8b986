-- ARGV: id, sid, progress json ('' = unchanged), log lines... Returns 0 when the job moved on.
local id, sid, progress = ARGV[1], ARGV[2], ARGV[3]
local LINES = 4 -- where the log lines start
local jk = jkey(id)
if redis.call('HGET', jk, 'sid') ~= sid then return 0 end
if progress ~= '' then
  redis.call('HSET', jk, 'progress', progress)
  event(id, '{"type":"progress","progress":' .. progress .. '}')
end
if #ARGV >= LINES then
  local log = base .. 'log:' .. id
  for i = LINES, #ARGV do
    redis.call('RPUSH', log, ARGV[i])
    event(id, cjson.encode({type = 'log', line = ARGV[i]}))
  end
  redis.call('LTRIM', log, -LOG_LINES_KEPT, -1)
end
return 1
