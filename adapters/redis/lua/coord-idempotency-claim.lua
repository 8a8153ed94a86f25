-- Claim-or-get idempotency key KEYS[1]: store holder ARGV[1] for ARGV[2] ms when free (SET NX PX: the server's clock).
-- Returns false (nil) for the one caller that claimed it, else the current holder's value (nothing changes: a
-- repeated enqueue does not extend the window).
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return false
