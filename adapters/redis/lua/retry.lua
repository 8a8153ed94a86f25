-- Settle a delivery and publish its next attempt, atomically. Returns 0 when the delivery was no longer held.
-- KEYS: 1 in-flight hash, 2 lease zset, 3 ready list of the priority, 4 delayed zset, 5 wake list, 6 sequence
-- ARGV: 1 token, 2 element of the next attempt, 3 priority digit, 4 due (epoch ms; 0 = ready now)
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local due = tonumber(ARGV[4])
if due > 0 then
  local s = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[4], due, ARGV[3] .. s .. '|' .. ARGV[2])
else
  redis.call('RPUSH', KEYS[3], ARGV[2])
end
if redis.call('LLEN', KEYS[5]) == 0 then redis.call('RPUSH', KEYS[5], '1') end
return 1
