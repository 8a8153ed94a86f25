-- Drop expired heartbeats, return the live ones (JSON strings).
-- KEYS[1] zset id -> expiry; KEYS[2] hash id -> heartbeat JSON
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- At most CHUNK values per command: unpack fails past about 8 000 (Lua's C stack), and expired entries pile up
-- where nothing lists for a while (worker ids are unique per process).
local CHUNK = 2000
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #dead, CHUNK do
  redis.call('HDEL', KEYS[2], unpack(dead, i, math.min(i + CHUNK - 1, #dead)))
end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i = 1, #live, CHUNK do
  local part = redis.call('HMGET', KEYS[2], unpack(live, i, math.min(i + CHUNK - 1, #live)))
  for j = 1, #part do out[i + j - 1] = part[j] end
end
return out
