-- model.lua (prelude, after records.lua): the read model and its fold.

-- The read model (the status projection, kept inline): for each actor and state, a list of the
-- job ids in the state by when they entered it (`list:<actor>:<state>`), and outcomes per minute
-- (hash `rates`, field `<actor>|<outcome>|<minute>`). Every event is folded into it by `fold`
-- below, in the script that appends the event; `rebuild.lua` folds the log with the same
-- function. Jobs without a record (the pseudo jobs of malformed entries) count in the rates only.
-- A list of a state a job passes through is a sorted set scored by the time (counts: ZCARD). A
-- list of a finished state, where jobs stay by the hundred thousand, is a stream: one entry per
-- job, field `j` its id, made at the ms the job entered the state (id `<ms>-<seq>`; counts:
-- XLEN), ~46 B per job against a sorted set's ~115-130. Finished lists written before
-- 2026-12-08 are sorted sets: each becomes a stream at its first change (`as_stream`), and the
-- readers take either.
local STATES = { 'queued', 'delayed', 'active', 'retrying', 'succeeded', 'deadLettered', 'cancelled' }
local FINISHED = { succeeded = true, deadLettered = true, cancelled = true }
-- Minutes of outcomes kept (expire.lua drops older ones; a rebuild counts no older ones).
local RATE_MINUTES = 60

-- The model keys of the one actor a script changes: set by the script with `use_model` (nil:
-- the script appends only events that change no state).
local model = nil

-- `lists`: the actor's seven list keys in STATES order; `rates`: the rates hash.
local function use_model(rates, queued, delayed, active, retrying, succeeded, dead_lettered, cancelled)
  model = {
    rates = rates,
    lists = { queued = queued, delayed = delayed, active = active, retrying = retrying,
      succeeded = succeeded, deadLettered = dead_lettered, cancelled = cancelled },
  }
end

-- The transition table: the state an event puts its job in. `false`: the job leaves the read
-- model; absent: the state does not change. `submitted` and `failed` decide by their data.
local ENTERS = { started = 'active', succeeded = 'succeeded', deadLettered = 'deadLettered',
  cancelled = 'cancelled', released = 'queued', requeued = 'queued', purged = false }
-- Events counted in the outcomes per minute.
local OUTCOMES = { succeeded = true, failed = true, deadLettered = true }

local function state_after(event_type, data)
  if event_type == 'submitted' then
    -- A delay is the data's last field (scripts write it so): only the tail is looked at, and
    -- only when a plain search finds the name at all (a pattern costs several times more).
    if data and string.find(data, '"delayUntil":', 1, true)
        and string.find(string.sub(data, -40), '"delayUntil":%d+}$') then return 'delayed' end
    return 'queued'
  elseif event_type == 'failed' then
    if data and string.find(string.sub(data, -48), '"willRetry":true,"retryAt":%d+}$') then return 'retrying' end
    return nil
  end
  return ENTERS[event_type]
end

-- Scripts that change many jobs in one call buffer the model's writes (`buffer_model`) and make
-- them at the end (`flush_model`): one ZREM and one ZADD per list and one HINCRBY per rate field
-- for the whole batch, instead of a call per job for each (a redis.call from Lua costs a few µs
-- whatever it does). A job's net move is kept: out of the list it was in, into the last one.
-- A buffering call also trims the log once, at the end, rather than at every event (`MAXLEN ~`
-- on each XADD: about 2,000 of the 35,000 instructions an append costs the server). The flag,
-- `buffered`, is records.lua's: the records are written at the end too.
local moves, move_order, rate_adds, trims = {}, {}, {}, {}

local function buffer_model()
  buffered = true
end

-- Turns a finished list kept as a sorted set (before 2026-12-08) into a stream, oldest first.
-- Once per list: its first change after the upgrade pays for the list's size.
local function as_stream(key)
  local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  redis.call('DEL', key)
  for i = 1, #members, 2 do
    redis.call('XADD', key, integer_text(tonumber(members[i + 1])) .. '-*', 'j', members[i])
  end
end

-- A finished list's entries made at `at` ms (all of them: a ms holds a few dozen at most).
local function listed_in(key, at)
  local ms = integer_text(at)
  local entries = redis.pcall('XRANGE', key, ms, ms)
  if entries.err then
    as_stream(key)
    entries = redis.call('XRANGE', key, ms, ms)
  end
  return entries
end

-- Set by rebuild.lua: an entry may already be there (made inline while the rebuild ran), and
-- the log's older events may come after newer ones were listed.
local rebuilding = false
-- Listings a rebuild could not make: the list already held a later time (live traffic).
local unlisted = 0

-- Lists job `id` in finished list `key` at `at` ms.
local function list_finished(key, at, id)
  if rebuilding then
    for _, entry in ipairs(listed_in(key, at)) do
      if entry[2][2] == id then return end
    end
  end
  local added = redis.pcall('XADD', key, (id_pattern_at(at)), 'j', id)
  if type(added) == 'table' and added.err then
    if string.find(added.err, 'WRONGTYPE', 1, true) then
      as_stream(key)
      return list_finished(key, at, id)
    end
    -- The list's newest entry is later: an event's time is never earlier than the log's last
    -- (its id is), so only a rebuild beside live traffic gets here.
    unlisted = unlisted + 1
  end
end

-- Takes job `id`, listed at `at` ms, out of finished list `key`.
local function unlist_finished(key, at, id)
  if not at then return end
  for _, entry in ipairs(listed_in(key, at)) do
    if entry[2][2] == id then
      redis.call('XDEL', key, entry[1])
      return
    end
  end
end

-- The fold: applies one event (of `actor`'s job `id`, at `at` ms, held in state `from` by the
-- model) to the model `m`; returns the state the model now holds the job in. `recorded`: the
-- job has a record (else only the rates count it). `rates_since`: outcomes older than this
-- minute are not counted.
-- The minute an outcome counts in, as text, and the rate fields made for it (by actor, then
-- outcome): kept while the calls' events fall in the same minute.
local rate_minute, rate_minute_text, rate_fields = nil, nil, {}

local function rate_field(actor, event_type, minute)
  if minute ~= rate_minute then rate_minute, rate_minute_text, rate_fields = minute, integer_text(minute), {} end
  local of_actor = rate_fields[actor]
  if not of_actor then
    of_actor = {}
    rate_fields[actor] = of_actor
  end
  local field = of_actor[event_type]
  if not field then
    field = actor .. '|' .. event_type .. '|' .. rate_minute_text
    of_actor[event_type] = field
  end
  return field
end

local function fold(m, id, actor, from, event_type, data, at, recorded, rates_since)
  if OUTCOMES[event_type] then
    local minute = math.floor(at / 60000)
    if minute >= rates_since then
      local field = rate_field(actor, event_type, minute)
      if buffered then
        local fields = rate_adds[m.rates] or {}
        fields[field] = (fields[field] or 0) + 1
        rate_adds[m.rates] = fields
      else
        redis.call('HINCRBY', m.rates, field, 1)
      end
    end
  end
  if not recorded then return nil end
  local to = state_after(event_type, data)
  if to == nil then return from end
  -- A finished list changes at once: a stream takes one entry per call, nothing to gather.
  if from ~= to then
    if from and FINISHED[from] then unlist_finished(m.lists[from], listed_at[id], id) end
    if to and FINISHED[to] then
      list_finished(m.lists[to], at, id)
      listed_at[id] = at
    end
  end
  if buffered then
    local move = moves[id]
    if move then
      move.to, move.at = to, at
    else
      -- Made whole: a table that grows after it is made is rebuilt.
      moves[id] = { lists = m.lists, from = from, to = to, at = at }
      move_order[#move_order + 1] = id
    end
    return to or nil
  end
  if from and from ~= to and not FINISHED[from] then redis.call('ZREM', m.lists[from], id) end
  if to and not FINISHED[to] then redis.call('ZADD', m.lists[to], at, id) end
  return to or nil
end

-- Writes what `buffer_model` held back; a buffering script calls it before it returns.
local function flush_model()
  flush_records()
  local removals, additions = {}, {}
  for _, id in ipairs(move_order) do
    local move = moves[id]
    local from, to = move.from, move.to
    if from and from ~= to and not FINISHED[from] then
      local key = move.lists[from]
      local ids = removals[key]
      if ids then ids[#ids + 1] = id else removals[key] = { id } end
    end
    if to and not FINISHED[to] then
      local key = move.lists[to]
      local scored = additions[key]
      if scored then
        scored[#scored + 1] = move.at
        scored[#scored + 1] = id
      else
        additions[key] = { move.at, id }
      end
    end
  end
  for key, ids in pairs(removals) do call_spread('ZREM', key, ids) end
  for key, scored in pairs(additions) do call_spread('ZADD', key, scored) end
  for key, fields in pairs(rate_adds) do
    for field, n in pairs(fields) do redis.call('HINCRBY', key, field, n) end
  end
  for events, maxlen in pairs(trims) do redis.call('XTRIM', events, 'MAXLEN', '~', maxlen) end
  moves, move_order, rate_adds, trims = {}, {}, {}, {}
end
