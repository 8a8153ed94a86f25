-- Delete lease KEYS[1] only when still held by ARGV[1] with token ARGV[2] (a lapsed holder must not free another's).
local owner = redis.call('HGET', KEYS[1], 'owner')
local token = redis.call('HGET', KEYS[1], 'token')
if owner ~= ARGV[1] or token ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
