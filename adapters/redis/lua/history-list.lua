-- One page of the task history, newest enqueued first, scanning at most a bounded number of index entries.
-- KEYS: 1 the index to walk (`<tag>:all`, `:s:<state>`, `:q:<queue>` or `:t:<task>`)
-- ARGV: 1 tag, 2 max score ('+inf' or a number: the cursor's, or `(until`), 3 cursor id ('' = none),
--       4 min score ('-inf' or since), 5 state filter, 6 queue filter, 7 task filter (each '' = any),
--       8 search ('' = none), 9 limit, 10 most entries scanned
-- Returns { done (1 = index exhausted), last scanned score, last scanned id, then 13 values per run:
--   id, task, queue, state, attempt, score, startedAt, finishedAt, updatedAt, worker, errName, errMessage, priority }
local tag, maxScore, cursorId, minScore = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fState, fQueue, fTask, search = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local limit, cap = tonumber(ARGV[9]), tonumber(ARGV[10])
local cursorScore = tonumber(maxScore)
local out = { 0, '', '' }
local found, scanned, offset = 0, 0, 0
local done = 0
while found < limit and scanned < cap do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], maxScore, minScore, 'WITHSCORES', 'LIMIT', offset, 200)
  if #batch == 0 then
    done = 1
    break
  end
  offset = offset + #batch / 2
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    -- Runs of the cursor's own millisecond come in descending id order: skip up to the cursor's.
    if not (cursorId ~= '' and tonumber(score) == cursorScore and id >= cursorId) then
      scanned = scanned + 1
      out[2], out[3] = score, id
      local f = redis.call('HMGET', tag .. ':r:' .. id, 'task', 'queue', 'state', 'attempt', 'startedAt',
        'finishedAt', 'updatedAt', 'worker', 'errName', 'errMessage', 'priority', 'input')
      local ok = f[1] ~= false
        and (fState == '' or f[3] == fState)
        and (fQueue == '' or f[2] == fQueue)
        and (fTask == '' or f[1] == fTask)
      if ok and search ~= '' then
        ok = string.find(id, search, 1, true) ~= nil or string.find(f[1], search, 1, true) ~= nil
          or (f[12] ~= false and string.find(f[12], search, 1, true) ~= nil)
      end
      if ok then
        found = found + 1
        local row = { id, f[1], f[2], f[3] or 'pending', f[4] or '1', score, f[5] or '', f[6] or '', f[7] or '',
          f[8] or '', f[9] or '', f[10] or '', f[11] or '' }
        for _, v in ipairs(row) do out[#out + 1] = v end
      end
      if found >= limit or scanned >= cap then break end
    end
  end
  if #batch < 400 and found < limit and scanned < cap then
    done = 1
    break
  end
end
out[1] = done
return out
