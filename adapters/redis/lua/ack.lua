-- Remove settled deliveries for good. Returns 1 per token that was still held, 0 for one already gone.
-- KEYS: 1 in-flight hash, 2 lease zset
-- ARGV: tokens
local out = {}
for i = 1, #ARGV do out[i] = redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('ZREM', KEYS[2], unpack(ARGV))
return out
