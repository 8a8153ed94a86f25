-- Settle a delivery and publish its next attempt, atomically. Returns 0 when the delivery was no longer held.
-- KEYS: 1 in-flight hash, 2 lease zset, 3 ready list of the priority, 4 delayed zset, 5 wake list, 6 sequence
-- ARGV: 1 token, 2 element of the next attempt, 3 priority digit, 4 delay (ms from now; 0 = ready now), due on this
-- server's clock (TIME), as in publish-batch.lua
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local delay = tonumber(ARGV[4])
if delay > 0 then
  local t = redis.call('TIME')
  local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + delay
  local s = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[4], due, ARGV[3] .. s .. '|' .. ARGV[2])
else
  redis.call('RPUSH', KEYS[3], ARGV[2])
end
if redis.call('LLEN', KEYS[5]) == 0 then redis.call('RPUSH', KEYS[5], '1') end
return 1
