-- Give held deliveries back to the front of their lists without counting the delivery. 1/0 per token.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 in-flight hash, 12 lease zset, 13 wake list
-- ARGV: tokens, oldest first
local out = {}
local any = false
for i = #ARGV, 1, -1 do
  local v = redis.call('HGET', KEYS[11], ARGV[i])
  if v then
    local j = string.find(v, '\2', 3, true)
    local count = tonumber(string.sub(v, 3, j - 1)) - 1
    redis.call('LPUSH', KEYS[string.byte(v, 1) - 47], '\2' .. count .. '\2' .. string.sub(v, j + 1))
    redis.call('HDEL', KEYS[11], ARGV[i])
    out[i] = 1
    any = true
  else
    out[i] = 0
  end
end
-- In chunks, as this runs after the pushes above: unpack fails past about 8 000 values and Redis does not roll back.
for i = 1, #ARGV, 1000 do
  redis.call('ZREM', KEYS[12], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if any and redis.call('LLEN', KEYS[13]) == 0 then redis.call('RPUSH', KEYS[13], '1') end
return out
