-- Remove dead letters: every entry of the given ids, or all of them. Returns how many were removed.
-- KEYS: 1 dead zset, 2 dead hash, 3 reused-id zset (entry keys `id~<seq>`, score 0)
-- ARGV: ids (none = all)
-- An id's entries are its own key and, when the id was dead-lettered again, keys `id~<seq>`; those are found in the
-- reused-id zset by range, bounded by how many there are of that id. A key in that range may belong to another id
-- that merely starts with `id~`: the record's id decides.
if #ARGV == 0 then
  local n = redis.call('ZCARD', KEYS[1])
  redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3])
  return n
end
local function idOf(key)
  local json = redis.call('HGET', KEYS[2], key)
  if not json then return nil end
  -- pcall: a record that is not JSON (another tool wrote it) must not fail the purge.
  local ok, record = pcall(cjson.decode, json)
  if ok and type(record) == 'table' and type(record.id) == 'string' then return record.id end
  return nil
end
local n = 0
local function remove(key)
  if redis.call('HDEL', KEYS[2], key) == 1 then
    redis.call('ZREM', KEYS[1], key)
    redis.call('ZREM', KEYS[3], key)
    n = n + 1
  end
end
for i = 1, #ARGV do
  local id = ARGV[i]
  -- The id's own key, unless it holds a reused entry of another id; an unreadable record goes as before.
  local own = idOf(id)
  if own == nil or own == id then remove(id) end
  local reused = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. id .. '~', '(' .. id .. '\127')
  for j = 1, #reused do
    if idOf(reused[j]) == id then remove(reused[j]) end
  end
end
return n
