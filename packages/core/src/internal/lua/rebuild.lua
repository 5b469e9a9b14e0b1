-- rebuild: folds a chunk of the partition's event log into the read model with lib/model.lua's `fold`,
-- the function every lifecycle script applies inline. `eddy projection rebuild` calls it chunk by
-- chunk from the log's start; the first call clears the model. Jobs whose record is gone
-- (expired, purged) land in no list; every retained outcome is counted in the rates. Where a job
-- is, is read from the lists themselves, so a chunk needs no state of its own: a sorted set is
-- asked for the id, a finished list (a stream) for the times of the job's earlier events.
-- KEYS: 1 events, 2 jobs, 3 rates, then per actor named in ARGV: list queued, list delayed, list active, list retrying, list succeeded, list deadLettered, list cancelled
-- ARGV: 1 cursor (the last event folded; '0-0' from the start), 2 most events to fold,
--       3 how many of the named actors' lists are already cleared (-1: none, and the rates
--       neither), then the actors, one per seven list keys
-- Returns: {cursor, unknown actor, unlisted}: the cursor to continue from ('' the log is folded);
--          an unknown actor ('' none) stops the chunk before its event: call again naming it;
--          how many finished jobs could not be listed because live traffic had listed later ones
local cursor, count, cleared = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
rebuilding = true
local models = {}
for i = 4, #ARGV do
  local k = 4 + (i - 4) * 7
  models[ARGV[i]] = {
    rates = KEYS[3],
    lists = { queued = KEYS[k], delayed = KEYS[k + 1], active = KEYS[k + 2], retrying = KEYS[k + 3],
      succeeded = KEYS[k + 4], deadLettered = KEYS[k + 5], cancelled = KEYS[k + 6] },
  }
end
if cleared < 0 then redis.call('DEL', KEYS[3]) end
for i = math.max(cleared, 0) + 4, #ARGV do
  for _, state in ipairs(STATES) do redis.call('DEL', models[ARGV[i]].lists[state]) end
end

-- The list the model holds `job` in before event `event_id` was folded, if any (setting
-- `listed_at` for a finished one): its finished list's entry is at one of its earlier events'
-- times, looked for newest first.
local function listed_before(m, job, event_id)
  for _, state in ipairs(STATES) do
    if not FINISHED[state] and redis.call('ZSCORE', m.lists[state], job.id) then return state end
  end
  local event_ms = tonumber(string.match(event_id, '^(%d+)'))
  local times = {}
  for entry in string.gmatch(job.h or '', '[^,]+') do times[#times + 1] = history_time(job, entry) end
  for i = #times, 1, -1 do
    if times[i] <= event_ms then
      for state in pairs(FINISHED) do
        for _, listed in ipairs(listed_in(m.lists[state], times[i])) do
          if listed[2][2] == job.id then
            listed_at[job.id] = times[i]
            return state
          end
        end
      end
    end
  end
  return nil
end

local rates_since = math.floor(now_ms() / 60000) - RATE_MINUTES
local recorded, where = {}, {}
local entries = redis.call('XRANGE', KEYS[1], '(' .. cursor, '+', 'COUNT', count)
for _, entry in ipairs(entries) do
  local fields = {}
  for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
  -- An event's head (`e`, see lib/jobs.lua), or the fields of a version 1 one.
  if fields.e then
    local decoded, head = pcall(cjson.decode, fields.e)
    if decoded and type(head) == 'table' then fields.type, fields.job, fields.actor = head[1], head[2], head[3] end
  end
  local id, actor = fields.job, fields.actor
  if type(id) == 'string' and type(actor) == 'string' and type(fields.type) == 'string' then
    local m = models[actor]
    if not m then return { cursor, actor } end
    if recorded[id] == nil then
      local job = load_job(KEYS[2], id)
      recorded[id] = job ~= nil
      if job then where[id] = listed_before(m, job, entry[1]) end
    end
    local data = fields.d ~= '' and fields.d or nil
    local at = tonumber(string.match(entry[1], '^(%d+)'))
    where[id] = fold(m, id, actor, where[id], fields.type, data, at, recorded[id], rates_since)
  end
  cursor = entry[1]
end
if #entries < count then return { '', '', unlisted } end
return { cursor, '', unlisted }
