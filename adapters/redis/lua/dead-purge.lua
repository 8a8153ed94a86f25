-- Remove dead letters: the given entry keys, or all of them. Returns how many were removed.
-- KEYS: 1 dead zset, 2 dead hash
-- ARGV: entry keys (none = all)
if #ARGV == 0 then
  local n = redis.call('ZCARD', KEYS[1])
  redis.call('UNLINK', KEYS[1], KEYS[2])
  return n
end
local n = 0
for i = 1, #ARGV do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
