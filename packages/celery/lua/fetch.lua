-- Move up to ARGV[3] messages from a Celery queue's Kombu lists into this adapter's lease structure, after giving
-- back what is due: delayed messages (ETA reached) and expired leases (their consumer died).
-- KEYS[1] leases   zset  token -> lease deadline (ms)
-- KEYS[2] held     hash  token -> raw Kombu message; token..':l' -> index of its list in KEYS[6..]
-- KEYS[3] counts   hash  sha1(raw) -> deliveries so far that ended without a settlement (crash, lease expiry)
-- KEYS[4] delayed  zset  '<list index>|<raw>' -> due time (ms)
-- KEYS[5] seq      string, lease token counter
-- KEYS[6..] the queue's Kombu lists, in reading order (Kombu priority 0 first)
-- ARGV[1] now (ms), ARGV[2] lease (ms), ARGV[3] most messages to take
-- Returns a flat array: token, list index, delivery count, raw, ...
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local max = tonumber(ARGV[3])

-- Due delayed messages go to the consuming (right) end of their list: they are late already.
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local bar = string.find(member, '|', 1, true)
  local index = tonumber(string.sub(member, 1, bar - 1))
  redis.call('RPUSH', KEYS[6 + index], string.sub(member, bar + 1))
  redis.call('ZREM', KEYS[4], member)
end

-- Expired leases: the consumer stopped extending them (killed, partitioned). Back to the consuming end, counted.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
for _, token in ipairs(expired) do
  local raw = redis.call('HGET', KEYS[2], token)
  local index = tonumber(redis.call('HGET', KEYS[2], token .. ':l') or '0')
  if raw then
    redis.call('HINCRBY', KEYS[3], redis.sha1hex(raw), 1)
    redis.call('RPUSH', KEYS[6 + index], raw)
  end
  redis.call('HDEL', KEYS[2], token, token .. ':l')
  redis.call('ZREM', KEYS[1], token)
end

local out = {}
local taken = 0
for index = 0, #KEYS - 6 do
  while taken < max do
    local raw = redis.call('RPOP', KEYS[6 + index])
    if not raw then break end
    local token = tostring(redis.call('INCR', KEYS[5]))
    redis.call('ZADD', KEYS[1], now + lease, token)
    redis.call('HSET', KEYS[2], token, raw, token .. ':l', index)
    local before = tonumber(redis.call('HGET', KEYS[3], redis.sha1hex(raw)) or '0')
    out[#out + 1] = token
    out[#out + 1] = index
    out[#out + 1] = before + 1
    out[#out + 1] = raw
    taken = taken + 1
  end
end
return out
