-- Put one message on a queue: at the back of its priority list, or in the delayed set until `due`.
-- KEYS: 1 ready list of the priority, 2 delayed zset, 3 wake list, 4 sequence counter
-- ARGV: 1 element (stored form), 2 priority digit, 3 due (epoch ms; 0 = ready now)
local due = tonumber(ARGV[3])
if due > 0 then
  -- The sequence keeps identical bodies distinct members; the digit in front says which list to promote into.
  local s = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], due, ARGV[2] .. s .. '|' .. ARGV[1])
else
  redis.call('RPUSH', KEYS[1], ARGV[1])
end
-- One marker at most: a blocked consumer wakes, fetches, and the fetch re-arms the marker when more is left.
if redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
return 1
