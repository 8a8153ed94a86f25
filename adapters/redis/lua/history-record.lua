-- Fold a batch of task events into the task history, then apply retention (a bounded amount of work per call).
-- KEYS: 1 `<tag>:all` (zset run id -> enqueued-at; names the cluster slot every other key shares through <tag>)
-- ARGV: 1 tag `{prefix:history}` as stored, after the client's keyPrefix (ioredis prefixes KEYS, not ARGV),
--       2 now (ms), 3 max runs, 4 max age (ms), 5 most events kept per run,
--       6.. per event, 16 values: id, task, queue, type, at, attempt, rank, state ('' = none), phase,
--       worker, enqueued-at hint, error name, error message, priority, event JSON, input text
-- Keys under <tag>: `:all`; `:s:<state>`, `:q:<queue>`, `:t:<task>` (zsets, same scores); `:r:<id>` (hash: the
--   run's summary, `enq` = its enqueue event JSON, `input` = its input text); `:e:<id>` (list: its other events, newest kept).
-- Returns the number of runs dropped by retention.
local tag = ARGV[1]
local now = tonumber(ARGV[2])
local maxRuns = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local maxLines = tonumber(ARGV[5])
local all = KEYS[1]

-- One HSET per event (its fields gathered first), index writes only when the state changes, LTRIM only past the
-- bound: a worker that writes the history sent 24.8 commands per job through this script, most of them repeats.
for i = 6, #ARGV, 16 do
  local id, task, queue, etype = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local at, attempt, rank = tonumber(ARGV[i + 4]), ARGV[i + 5], tonumber(ARGV[i + 6])
  local state, phase, worker = ARGV[i + 7], tonumber(ARGV[i + 8]), ARGV[i + 9]
  local hint, errName, errMessage, priority, json = ARGV[i + 10], ARGV[i + 11], ARGV[i + 12], ARGV[i + 13], ARGV[i + 14]
  local run = tag .. ':r:' .. id
  local cur = redis.call('HMGET', run, 'score', 'state', 'rank', 'stateAt', 'updatedAt', 'finishedAt')
  local fields = {}
  local function put(field, value)
    fields[#fields + 1] = field
    fields[#fields + 1] = value
  end
  local score = cur[1]
  if not score then
    score = hint
    put('task', task)
    put('queue', queue)
    put('score', score)
    put('attempt', attempt)
    redis.call('ZADD', all, score, id)
    redis.call('ZADD', tag .. ':q:' .. queue, score, id)
    redis.call('ZADD', tag .. ':t:' .. task, score, id)
  end
  local replay = etype == 'task.replayed' and at >= tonumber(cur[4] or 0)
  if state ~= '' and (cur[3] == false or rank >= tonumber(cur[3]) or replay) then
    if cur[2] ~= state then
      if cur[2] then redis.call('ZREM', tag .. ':s:' .. cur[2], id) end
      redis.call('ZADD', tag .. ':s:' .. state, score, id)
    end
    put('state', state)
    put('rank', rank)
    put('stateAt', at)
    put('attempt', attempt)
    if worker ~= '' then put('worker', worker) end
    if phase == 2 and etype ~= 'task.retried' then
      put('finishedAt', at)
    elseif phase < 2 and cur[6] then
      redis.call('HDEL', run, 'finishedAt')
    end
    if etype == 'task.started' then put('startedAt', at) end
  end
  if errName ~= '' then
    put('errName', errName)
    put('errMessage', errMessage)
  end
  if priority ~= '' then put('priority', priority) end
  if cur[5] == false or at > tonumber(cur[5]) then put('updatedAt', at) end
  if etype == 'task.enqueued' then
    put('enq', json)
    put('input', ARGV[i + 15])
  else
    local events = tag .. ':e:' .. id
    if redis.call('RPUSH', events, json) > maxLines then redis.call('LTRIM', events, -maxLines, -1) end
  end
  if #fields > 0 then redis.call('HSET', run, unpack(fields)) end
end

-- Retention: oldest runs past the count, then runs past the age; at most 2000 per call (later calls catch up).
local dropped = 0
local function drop(id)
  local run = tag .. ':r:' .. id
  local f = redis.call('HMGET', run, 'state', 'queue', 'task')
  redis.call('ZREM', all, id)
  if f[1] then redis.call('ZREM', tag .. ':s:' .. f[1], id) end
  if f[2] then redis.call('ZREM', tag .. ':q:' .. f[2], id) end
  if f[3] then redis.call('ZREM', tag .. ':t:' .. f[3], id) end
  redis.call('DEL', run, tag .. ':e:' .. id)
  dropped = dropped + 1
end
local over = redis.call('ZCARD', all) - maxRuns
if over > 0 then
  for _, id in ipairs(redis.call('ZRANGE', all, 0, math.min(over, 2000) - 1)) do drop(id) end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', all, '-inf', '(' .. (now - maxAge), 'LIMIT', 0, 2000 - dropped)) do
  drop(id)
end
return dropped
