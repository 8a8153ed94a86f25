-- The raw lease queue's fetch: reclaim expired leases, then move up to k ready jobs into flight in one round trip.
-- KEYS: 1 ready list (LPUSH by producers, so the oldest job is at the right), 2 lease zset (job body → deadline)
-- ARGV: 1 k, 2 lease ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A dead consumer's jobs go back to the front (right end) of the list, bounded so one call stays short.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
if #expired > 0 then
  redis.call('RPUSH', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
local jobs = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not jobs then return {} end
local deadline = now + tonumber(ARGV[2])
local z = {}
for i = 1, #jobs do
  z[2 * i - 1] = deadline
  z[2 * i] = jobs[i]
end
redis.call('ZADD', KEYS[2], unpack(z))
return jobs
