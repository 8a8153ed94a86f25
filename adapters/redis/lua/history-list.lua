-- One page of the task history, newest enqueued first, scanning at most a bounded number of index entries.
-- KEYS: the candidate indexes (1 to 3 of `<tag>:s:<state>`, `:q:<queue>`, `:t:<task>`, or just `<tag>:all`): every
--       run the query can match is in each of them; the one with the fewest entries in the score window is walked.
-- ARGV: 1 tag as stored, after the client's keyPrefix (ioredis prefixes KEYS, not ARGV),
--       2 max score ('+inf' or a number: the cursor's, or `(until`), 3 cursor id ('' = none),
--       4 min score ('-inf' or since), 5 state filter, 6 queue filter, 7 task filter (each '' = any),
--       8 search ('' = none), 9 limit, 10 most entries scanned, 11 most milliseconds spent scanning (0 = no bound)
-- Returns { done (1 = index exhausted), last scanned score, last scanned id, then 13 values per run:
--   id, task, queue, state, attempt, score, startedAt, finishedAt, updatedAt, worker, errName, errMessage, priority }
--
-- Cost: a ZCOUNT per candidate (O(log n)), then per scanned entry one HMGET of the three filter fields, and only when
-- a filter or the search is left to check on the run itself (the walked index answers its own filter); a match costs
-- one HMGET of its row. Unfiltered pages and single-filter pages therefore read only the rows they return. A page
-- whose runs are rare (a filter or search matching little) ends short, with a cursor, after the entry or time bound:
-- the script never holds the server (and the broker beside it) for longer than that, however loaded the machine is.
local tag, maxScore, cursorId, minScore = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fState, fQueue, fTask, search = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local limit, cap, budgetMs = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11] or '0')
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local deadline = budgetMs > 0 and nowMs() + budgetMs or nil
local cursorScore = tonumber(maxScore)

-- The smallest candidate in the window: a state filter over a large task walks the state's runs, and the reverse.
local index, best = KEYS[1], nil
for _, key in ipairs(KEYS) do
  local n = redis.call('ZCOUNT', key, minScore, maxScore)
  if best == nil or n < best then index, best = key, n end
end
-- Filters the walked index answers need no check on the run.
if index == tag .. ':s:' .. fState then fState = '' end
if index == tag .. ':q:' .. fQueue then fQueue = '' end
if index == tag .. ':t:' .. fTask then fTask = '' end
local checks = fState ~= '' or fQueue ~= '' or fTask ~= '' or search ~= ''

local function matches(id, run)
  local f = redis.call('HMGET', run, 'task', 'queue', 'state')
  if f[1] == false then return false end
  if (fState ~= '' and f[3] ~= fState) or (fQueue ~= '' and f[2] ~= fQueue) or (fTask ~= '' and f[1] ~= fTask) then
    return false
  end
  if search == '' or string.find(id, search, 1, true) or string.find(f[1], search, 1, true) then return true end
  local input = redis.call('HGET', run, 'input')
  return input ~= false and string.find(input, search, 1, true) ~= nil
end

local out = { 0, '', '' }
local found, scanned = 0, 0
local done = 0
-- Each batch starts where the last one ended: at its last score, past the entries of that score already seen
-- (equal scores come in descending id order), so a long scan never re-walks the index from the top.
local from, tied = maxScore, 0
-- A cursor inside a millisecond of many runs (one enqueueMany) starts right after its own entry, found by rank, rather
-- than skipping every entry earlier pages returned: that skipping alone could spend the time budget, and a page with
-- nothing scanned has no cursor to go on from.
if cursorId ~= '' then
  local at = redis.call('ZSCORE', index, cursorId)
  if at and tonumber(at) == cursorScore then
    tied = redis.call('ZREVRANK', index, cursorId) - redis.call('ZCOUNT', index, '(' .. maxScore, '+inf') + 1
  end
end
while found < limit and scanned < cap do
  local batch = redis.call('ZREVRANGEBYSCORE', index, from, minScore, 'WITHSCORES', 'LIMIT', tied, 200)
  if #batch == 0 then
    done = 1
    break
  end
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    if score == from then tied = tied + 1 else from, tied = score, 1 end
    -- Runs of the cursor's own millisecond come in descending id order: skip up to the cursor's.
    if not (cursorId ~= '' and tonumber(score) == cursorScore and id >= cursorId) then
      scanned = scanned + 1
      out[2], out[3] = score, id
      local run = tag .. ':r:' .. id
      if not checks or matches(id, run) then
        local f = redis.call('HMGET', run, 'task', 'queue', 'state', 'attempt', 'startedAt', 'finishedAt', 'updatedAt',
          'worker', 'errName', 'errMessage', 'priority')
        if f[1] ~= false then
          found = found + 1
          local row = { id, f[1], f[2], f[3] or 'pending', f[4] or '1', score, f[5] or '', f[6] or '', f[7] or '',
            f[8] or '', f[9] or '', f[10] or '', f[11] or '' }
          for _, v in ipairs(row) do out[#out + 1] = v end
        end
      end
      if found >= limit or scanned >= cap then break end
    end
  end
  if #batch < 400 and found < limit and scanned < cap then
    done = 1
    break
  end
  -- Only once something was scanned: its position is the cursor the caller goes on from.
  if deadline ~= nil and found < limit and scanned > 0 and nowMs() >= deadline then break end
end
out[1] = done
return out
