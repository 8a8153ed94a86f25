-- Write or refresh a worker heartbeat.
-- KEYS[1] zset id -> expiry (store clock, ms); KEYS[2] hash id -> heartbeat JSON
-- ARGV[1] id; ARGV[2] JSON; ARGV[3] ttl ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
