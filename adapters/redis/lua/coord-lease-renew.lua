-- Extend lease KEYS[1] when still held by ARGV[1] with token ARGV[2] for ARGV[3] ms.
-- Returns the new expiresAt (store clock), or nil when the lease was lost.
local owner = redis.call('HGET', KEYS[1], 'owner')
local token = redis.call('HGET', KEYS[1], 'token')
if owner ~= ARGV[1] or token ~= ARGV[2] then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return now + tonumber(ARGV[3])
