-- Promote due delayed messages, reclaim expired leases, then move up to k ready messages into flight.
-- KEYS: 1..10 ready lists for priorities 0..9, 11 delayed zset, 12 in-flight hash, 13 lease zset, 14 wake list,
--       15 sequence counter
-- ARGV: 1 k, 2 lease ms, 3 most delayed/expired entries moved per call, 4.. tokens to ack first
-- Returns { now, next due or -1, next lease deadline or -1, { token, delivery count, body, ... }, { 1/0 per ack } }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local k = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local delayed, inflight, leases, wake = KEYS[11], KEYS[12], KEYS[13], KEYS[14]

-- Lists go to Redis at most CHUNK values per command: unpack fails past about 8 000 values (Lua's C stack), and a
-- failure after the pops below would lose what they took, as Redis does not roll back a script's writes. Even, so
-- field/value and score/member pairs stay whole.
local CHUNK = 2000
-- Runs cmd on key with every value of list; returns the sum of the (integer) replies.
local function each(cmd, key, list)
  local total = 0
  for i = 1, #list, CHUNK do
    total = total + redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
  end
  return total
end
-- HMGET of every field of list, replies in the order of list.
local function hmget(key, list)
  local out = {}
  for i = 1, #list, CHUNK do
    local part = redis.call('HMGET', key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
    for j = 1, #part do out[i + j - 1] = part[j] end
  end
  return out
end

-- Acks of the consumer's previous batch ride along (as in ack.lua): 1 per token still held, 0 for one gone.
local acked = {}
if #ARGV > 3 then
  local tokens = {}
  for i = 4, #ARGV do tokens[i - 3] = ARGV[i] end
  -- The lease zset and the in-flight hash hold the same tokens. When every lease was there, every ack is a 1 and
  -- the hash need not be read (an HMGET would copy every body into Lua just to test presence).
  if each('ZREM', leases, tokens) == #tokens then
    for i = 1, #tokens do acked[i] = 1 end
  else
    local held = hmget(inflight, tokens)
    for i = 1, #tokens do acked[i] = held[i] and 1 or 0 end
  end
  each('HDEL', inflight, tokens)
end

-- Delays: due members go to the back of their priority list, earliest due first. Never early: score <= now.
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
if #due > 0 then
  for i = 1, #due do
    local m = due[i]
    local j = string.find(m, '|', 2, true)
    redis.call('RPUSH', KEYS[string.byte(m, 1) - 47], string.sub(m, j + 1))
  end
  each('ZREM', delayed, due)
end

-- Leases nobody extended (the holder died): back to the front of their list, delivery count kept.
-- Atomic, so exactly one live consumer reclaims each.
local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
if #expired > 0 then
  local held = hmget(inflight, expired)
  for i = #expired, 1, -1 do
    local v = held[i]
    if v then redis.call('LPUSH', KEYS[string.byte(v, 1) - 47], string.sub(v, 2)) end
  end
  each('HDEL', inflight, expired)
  each('ZREM', leases, expired)
end

-- Highest priority first, FIFO within a level.
local n = 0
local prio, elems = {}, {}
for p = 10, 1, -1 do
  if n >= k then break end
  local popped = redis.call('LPOP', KEYS[p], k - n)
  if popped then
    -- The digit as a string once per level, not a number formatted into every in-flight value.
    local digit = tostring(p - 1)
    for i = 1, #popped do
      n = n + 1
      prio[n] = digit
      elems[n] = popped[i]
    end
  end
end

local out = {}
if n > 0 then
  local last = redis.call('INCRBY', KEYS[15], n)
  local deadline = now + lease
  local hargs, zargs = {}, {}
  for i = 1, n do
    local e = elems[i]
    local count, body, value
    -- Stored form: the body, or "\2<deliveries so far>\2<body>" for a message that was delivered before.
    if string.byte(e, 1) == 2 then
      local j = string.find(e, '\2', 2, true)
      count = tonumber(string.sub(e, 2, j - 1)) + 1
      body = string.sub(e, j + 1)
      value = prio[i] .. '\2' .. count .. '\2' .. body
    else
      -- First delivery, the common case: a constant instead of formatting the count.
      count = 1
      body = e
      value = prio[i] .. '\2' .. '1\2' .. body
    end
    local token = string.format('%d', last - n + i)
    hargs[2 * i - 1] = token
    hargs[2 * i] = value
    zargs[2 * i - 1] = deadline
    zargs[2 * i] = token
    out[3 * i - 2] = token
    out[3 * i - 1] = count
    out[3 * i] = body
  end
  each('HSET', inflight, hargs)
  each('ZADD', leases, zargs)
end

local nextDue, nextLease = -1, -1
if n >= k then
  -- There may be more: make sure another blocked consumer wakes up for it.
  if redis.call('LLEN', wake) == 0 then redis.call('RPUSH', wake, '1') end
else
  -- Drained: tell the caller how long it may block.
  local d = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if d[2] then nextDue = d[2] end
  local l = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  if l[2] then nextLease = l[2] end
end
return { now, nextDue, nextLease, out, acked }
