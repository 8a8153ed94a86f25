-- Count one finished member of a workflow group and settle the group once (WorkflowStore.countMember).
-- KEYS: 1 group state hash (failed, settled, released), 2 hash member index -> outcome JSON, 3 workflow revoked flag
-- ARGV: 1 member index, 2 outcome JSON, 3 '1' when the member failed, 4 members in the group,
--       5 '1' to settle failed at the first failure (fail fast), 6 ttl ms
-- Returns { counted 0|1, done, failed, settled ('' | 'succeeded' | 'failed'), settled by this call 0|1,
--           pending (settled and not released) 0|1, revoked 0|1 }.
-- HSETNX makes a member count once however often it is redelivered; the script runs alone on the server, so of two
-- members counted at the same moment exactly one sees the group complete.
local counted = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local done = redis.call('HLEN', KEYS[2])
local failed = tonumber(redis.call('HGET', KEYS[1], 'failed') or '0')
local settled = redis.call('HGET', KEYS[1], 'settled')
local now = 0
if counted == 1 then
  if ARGV[3] == '1' then failed = redis.call('HINCRBY', KEYS[1], 'failed', 1) end
  if not settled then
    if ARGV[3] == '1' and ARGV[5] == '1' then
      settled = 'failed'
    elseif done >= tonumber(ARGV[4]) then
      if ARGV[5] == '1' and failed > 0 then settled = 'failed' else settled = 'succeeded' end
    end
    if settled then
      redis.call('HSET', KEYS[1], 'settled', settled)
      now = 1
    end
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
local pending = 0
if settled and not redis.call('HGET', KEYS[1], 'released') then pending = 1 end
return { counted, done, failed, settled or '', now, pending, redis.call('EXISTS', KEYS[3]) }
