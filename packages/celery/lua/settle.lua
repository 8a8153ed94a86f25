-- Settle a held message: remove its lease and do what the settlement says, atomically.
-- KEYS[1] leases, KEYS[2] held, KEYS[3] counts (see fetch.lua)
-- KEYS[4] target: the delayed zset ('delay'), the dead-letter list ('dead') or the message's Kombu list ('release')
-- ARGV[1] token
-- ARGV[2] op: 'ack' (remove), 'delay' (ZADD target ARGV[4] ARGV[3]: a retry or a not-yet-due ETA),
--             'dead' (RPUSH target ARGV[3], oldest first), 'release' (RPUSH the raw back to the consuming end of target)
-- ARGV[3] payload: the delayed member '<list index>|<raw>' or the dead-letter entry
-- ARGV[4] score for 'delay' (due time, ms)
-- ARGV[5] '1' to keep the delivery count (a deferred ETA is the same delivery), '0' to drop it
-- Returns 1, or 0 when the lease was already gone (expired and given back: the settlement is refused).
local token = ARGV[1]
if redis.call('ZREM', KEYS[1], token) == 0 then return 0 end
local raw = redis.call('HGET', KEYS[2], token)
redis.call('HDEL', KEYS[2], token, token .. ':l')
if raw and ARGV[5] ~= '1' then redis.call('HDEL', KEYS[3], redis.sha1hex(raw)) end
local op = ARGV[2]
if op == 'delay' then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[4]), ARGV[3])
elseif op == 'dead' then
  redis.call('RPUSH', KEYS[4], ARGV[3])
elseif op == 'release' and raw then
  redis.call('RPUSH', KEYS[4], raw)
end
return 1
