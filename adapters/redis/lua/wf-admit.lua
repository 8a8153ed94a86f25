-- Decide whether one delivered workflow member runs (WorkflowStore.admit).
-- KEYS: 1 the workflow's revoked flag, 2 hash node id -> first publish nonce
-- ARGV: 1 node id, 2 publish nonce ('' = published by the producer: only revocation is checked), 3 ttl ms
-- Returns 'revoked', 'run' or 'duplicate' (another publish of this node was admitted first).
if redis.call('EXISTS', KEYS[1]) == 1 then return 'revoked' end
if ARGV[2] == '' then return 'run' end
local first = redis.call('HGET', KEYS[2], ARGV[1])
if not first then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 'run'
end
if first == ARGV[2] then return 'run' end
return 'duplicate'
