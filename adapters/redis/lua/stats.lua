-- Counts of one queue, read in one step. Returns { ready, in flight, delayed, dead }.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 delayed zset, 12 in-flight hash, 13 dead zset
local ready = 0
for p = 1, 10 do ready = ready + redis.call('LLEN', KEYS[p]) end
return { ready, redis.call('HLEN', KEYS[12]), redis.call('ZCARD', KEYS[11]), redis.call('ZCARD', KEYS[13]) }
