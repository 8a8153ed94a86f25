-- Settle a delivery into the queue's dead-letter store, atomically. Returns 0 when it was no longer held.
-- KEYS: 1 in-flight hash, 2 lease zset, 3 dead zset (entry key by sequence), 4 dead hash (entry key -> record),
--       5 sequence
-- ARGV: 1 token, 2 id, 3 record JSON
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local s = redis.call('INCR', KEYS[5])
local key = ARGV[2]
-- The same id dead twice (two copies of a message) keeps both entries.
if redis.call('HEXISTS', KEYS[4], key) == 1 then key = key .. '~' .. s end
redis.call('ZADD', KEYS[3], s, key)
redis.call('HSET', KEYS[4], key, ARGV[3])
return 1
