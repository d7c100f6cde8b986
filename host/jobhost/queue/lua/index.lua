-- Index a job again for search (queue/search.py), after its kwargs were edited.
-- ARGV: id, then its terms (`<field>\0<value>` each).
-- Returns 1, or 0 when the job is gone (so nothing is indexed for it).
local id = ARGV[1]
local terms = {unpack(ARGV, 2)}

local created = redis.call('HGET', jkey(id), 'created')
if not created then return 0 end
index(id, created, terms)
return 1
