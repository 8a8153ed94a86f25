-- Sliding-window rate limit: take one token from KEYS[1] if fewer than ARGV[1] were taken in the last ARGV[2] ms.
-- KEYS[1] zset member -> time taken; KEYS[2] sequence (unique members)
-- Returns 0 when a token was taken, else the ms until the oldest counted token leaves the window.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, redis.call('INCR', KEYS[2]))
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
