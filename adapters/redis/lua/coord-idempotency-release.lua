-- Delete idempotency key KEYS[1] only while it still holds ARGV[1]: a publish that failed frees its own claim, never
-- the claim of a later enqueue that took the key after it lapsed. Returns 1 when deleted, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
