-- Extend the leases of deliveries a live consumer holds. Returns the tokens that are no longer held.
-- KEYS: 1 lease zset
-- ARGV: 1 lease ms, 2.. tokens
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local tokens = { unpack(ARGV, 2) }
local scores = redis.call('ZMSCORE', KEYS[1], unpack(tokens))
local lost, args = {}, {}
for i = 1, #tokens do
  if scores[i] then
    args[#args + 1] = deadline
    args[#args + 1] = tokens[i]
  else
    lost[#lost + 1] = tokens[i]
  end
end
if #args > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(args)) end
return lost
