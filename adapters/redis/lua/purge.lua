-- Remove every ready and delayed message of a queue (not in-flight ones, not dead letters). Returns the count.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 delayed zset
local n = redis.call('ZCARD', KEYS[11])
for p = 1, 10 do n = n + redis.call('LLEN', KEYS[p]) end
redis.call('UNLINK', unpack(KEYS))
return n
