-- Put several messages on one queue in one call: each at the back of its priority list, or in the delayed set
-- until its due time. Order within a priority list is the order given.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 delayed zset, 12 wake list, 13 sequence counter
-- ARGV: triplets of priority digit, delay (ms from now; 0 = ready now), element (stored form)
-- Due times are this server's clock (TIME) plus the delay: producers' and workers' clocks may disagree with each
-- other and with Redis, and a due time taken from one of them would run the job early or late by the difference.
local lists = {}
local later = {}
for i = 1, #ARGV, 3 do
  if tonumber(ARGV[i + 1]) > 0 then
    later[#later + 1] = i
  else
    local p = ARGV[i]
    local list = lists[p]
    if not list then
      list = {}
      lists[p] = list
    end
    list[#list + 1] = ARGV[i + 2]
  end
end
-- At most 1 000 values per command, whatever the caller sends: unpack fails past about 8 000 (Lua's C stack), and a
-- failure after the first push would leave the batch half published, as Redis does not roll back a script's writes.
for p, list in pairs(lists) do
  for i = 1, #list, 1000 do
    redis.call('RPUSH', KEYS[tonumber(p) + 1], unpack(list, i, math.min(i + 999, #list)))
  end
end
if #later > 0 then
  -- The sequence keeps identical bodies distinct members; the digit in front says which list to promote into.
  local last = redis.call('INCRBY', KEYS[13], #later)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local z = {}
  for j = 1, #later do
    local i = later[j]
    z[2 * j - 1] = now + tonumber(ARGV[i + 1])
    z[2 * j] = ARGV[i] .. (last - #later + j) .. '|' .. ARGV[i + 2]
  end
  for i = 1, #z, 2000 do
    redis.call('ZADD', KEYS[11], unpack(z, i, math.min(i + 1999, #z)))
  end
end
-- One marker at most: a blocked consumer wakes, fetches, and the fetch re-arms the marker when more is left.
if redis.call('LLEN', KEYS[12]) == 0 then redis.call('RPUSH', KEYS[12], '1') end
return #ARGV / 3
