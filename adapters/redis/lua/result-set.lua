-- Store a task record with its expiry and, when terminal, wake its waiters with the record itself.
-- KEYS: 1 record key
-- ARGV: 1 record JSON, 2 ttl ms, 3 channel ('' = not terminal)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[1]) end
return 1
