-- Remove settled deliveries for good. Returns 1 per token that was still held, 0 for one already gone.
-- KEYS: 1 in-flight hash, 2 lease zset
-- ARGV: tokens
-- Bulk calls whatever the batch size. The lease zset and the in-flight hash hold the same tokens: when every lease
-- was there, every answer is 1 and the hash need not be read (HMGET would copy every body just to test presence).
local out = {}
if redis.call('ZREM', KEYS[2], unpack(ARGV)) == #ARGV then
  for i = 1, #ARGV do out[i] = 1 end
else
  local held = redis.call('HMGET', KEYS[1], unpack(ARGV))
  for i = 1, #ARGV do out[i] = held[i] and 1 or 0 end
end
redis.call('HDEL', KEYS[1], unpack(ARGV))
return out
