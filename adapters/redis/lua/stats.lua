-- Counts of one queue, read in one step, and the head (oldest) element of every non-empty ready list.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 delayed zset, 12 in-flight hash, 13 dead zset
-- Returns { ready, in flight, delayed, dead, head of r0 or false, …, head of r9 or false }
local ready = 0
local heads = {}
for p = 1, 10 do
  local n = redis.call('LLEN', KEYS[p])
  ready = ready + n
  heads[p] = n > 0 and redis.call('LINDEX', KEYS[p], 0) or false
end
return { ready, redis.call('HLEN', KEYS[12]), redis.call('ZCARD', KEYS[11]), redis.call('ZCARD', KEYS[13]),
  heads[1], heads[2], heads[3], heads[4], heads[5], heads[6], heads[7], heads[8], heads[9], heads[10] }
