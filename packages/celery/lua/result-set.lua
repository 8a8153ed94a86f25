-- Store a Celery result as Celery's Redis backend does (SETEX + PUBLISH on the key's name), except over a SUCCESS
-- already stored: like Celery's `_store_result`, a redelivered run never overwrites a success.
-- KEYS[1] celery-task-meta-<id>
-- ARGV[1] the meta JSON, ARGV[2] ttl (seconds)
-- Returns 1 when written, 0 when a success was kept.
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta.status == 'SUCCESS' then return 0 end
end
redis.call('SETEX', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
