-- Take lease KEYS[1] for ARGV[1] when free (or already ours): a new holder gets the next fencing token.
-- KEYS[1] hash owner, token; KEYS[2] fencing counter (never expires)
-- ARGV[1] owner; ARGV[2] ttl ms. Returns {token, expiresAt} or nil when someone else holds it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return nil end
local token
if owner then
  token = tonumber(redis.call('HGET', KEYS[1], 'token'))
else
  token = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return {token, now + ttl}
