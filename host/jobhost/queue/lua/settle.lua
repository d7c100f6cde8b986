-- An enqueue whose answer was lost (Redis too slow, a connection broken): was job ARGV[1]
-- stored? If not, fence its id for ARGV[2] s, so that the enqueue, should it still reach Redis
-- (a frozen server runs what its sockets hold once it resumes), stores nothing.
-- Returns 1 (stored) or 0 (not stored, and it never will be).
local id = ARGV[1]
if redis.call('EXISTS', jkey(id)) == 1 then return 1 end
redis.call('SET', base .. 'fenced:' .. id, '1', 'EX', ARGV[2])
return 0
