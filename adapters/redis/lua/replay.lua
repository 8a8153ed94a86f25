-- Move dead letters back to the back of their ready lists, atomically per entry: each one is either still dead or
-- live again, never lost and never both. Returns how many were replayed.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 dead zset, 12 dead hash, 13 wake list, 14 reused-id zset
-- ARGV: triples of entry key, priority digit, element
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HDEL', KEYS[12], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[11], ARGV[i])
    redis.call('ZREM', KEYS[14], ARGV[i])
    redis.call('RPUSH', KEYS[tonumber(ARGV[i + 1]) + 1], ARGV[i + 2])
    n = n + 1
  end
end
if n > 0 and redis.call('LLEN', KEYS[13]) == 0 then redis.call('RPUSH', KEYS[13], '1') end
return n
