-- Remove settled deliveries for good. Returns 1 per token that was still held, 0 for one already gone.
-- KEYS: 1 in-flight hash, 2 lease zset
-- ARGV: tokens
-- Three bulk calls whatever the batch size: which tokens are held, then remove them all.
local held = redis.call('HMGET', KEYS[1], unpack(ARGV))
local out = {}
for i = 1, #ARGV do out[i] = held[i] and 1 or 0 end
redis.call('HDEL', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
return out
