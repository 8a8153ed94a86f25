-- Settle a delivery into the queue's dead-letter store, atomically. Returns 0 when it was no longer held.
-- KEYS: 1 in-flight hash, 2 lease zset, 3 dead zset (entry key by sequence), 4 dead hash (entry key -> record),
--       5 sequence, 6 reused-id zset (entry keys `id~<seq>`, score 0, for lookup by id)
-- ARGV: 1 token, 2 id, 3 record JSON, 4 attempt and 5 createdAt of the run ('' for a malformed message)
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local s = redis.call('INCR', KEYS[5])
local key = ARGV[2]
if redis.call('HEXISTS', KEYS[4], key) == 1 then
  -- One dead letter per run: a copy of the same run (same id, attempt and enqueue time: a message published or
  -- delivered twice) is not stored again. Another message reusing the id keeps an entry of its own.
  if ARGV[4] ~= '' then
    -- pcall: a script that errors here would leave the message neither in flight nor dead (no rollback).
    local ok, held = pcall(cjson.decode, redis.call('HGET', KEYS[4], key))
    local run = ok and type(held) == 'table' and held.envelope
    if type(run) == 'table' and run.attempt == tonumber(ARGV[4]) and run.createdAt == tonumber(ARGV[5]) then
      return 1
    end
  end
  key = key .. '~' .. s
  redis.call('ZADD', KEYS[6], 0, key)
end
redis.call('ZADD', KEYS[3], s, key)
redis.call('HSET', KEYS[4], key, ARGV[3])
return 1
