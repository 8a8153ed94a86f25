-- Claim tick ARGV[2] of schedule ARGV[1] once (SET NX with expiry) and record it as the last tick when later.
-- KEYS[1] the tick's claim key; KEYS[2] hash schedule -> last claimed tick
-- ARGV[3] claim ttl ms. Returns 1 for the one caller that claimed it, 0 for the others.
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', tonumber(ARGV[3])) then return 0 end
local last = redis.call('HGET', KEYS[2], ARGV[1])
if not last or tonumber(last) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 1
