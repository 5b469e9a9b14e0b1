-- Shared helpers, prepended to every script by Scripts.ts. Nothing here reads KEYS: every key
-- arrives as an argument from the script that declared it.
--
-- A job record (hash `jobs`, field = job id) is a MessagePack map with short fields (records
-- written before 2026-12-07 are JSON, told apart by their first byte, `{`; they are read as they
-- are and written as MessagePack at their next change):
--   a actor, l lane (absent: normal), s state, n attempt, m max attempts, i input (JSON text),
--   o output (JSON text), e last error (JSON text), c correlation id, k causation id,
--   x current inbox entry id, dl dead-letter entry id, cr cancel requested, t submitted at,
--   st started at, ft finished at, due delayed until, w worker, p progress,
--   h event ids (comma-separated, each `<ms after t>:<seq>`), r dead-letter reason.
-- Loaded, a record also has `id` (the hash field) and `l` always; `save_job` leaves out what
-- the store can do without (the id, the usual lane, the progress of a succeeded job) and keeps
-- `st`, `ft` and `due` as offsets from `t`: about a sixth of a record's memory.
-- States: queued, delayed, active, retrying, succeeded, deadLettered, cancelled.
-- Reply codes: 1 ok, 2 duplicate, -1 lease lost, -2 no such job, -3 already over,
-- -4 cancel requested, -5 wrong state, -6 actor paused.

local OK = 1
local DUPLICATE = 2
local LOST = -1
local NOT_FOUND = -2
local TERMINAL = -3
local CANCEL_REQUESTED = -4
local WRONG_STATE = -5
local ACTOR_PAUSED = -6
-- The reply of a change that went through, shared: a table per job cost ~2,000 instructions.
local OK_REPLY = { OK }

-- Progress events past this many stay in the log but not in the job's own history.
local MAX_HISTORY = 1000

-- The server's clock, read once per script call: a call is atomic, so every change it makes
-- happens at one instant (and a batch of many jobs asks TIME once, not once per job).
local cached_now = nil
local function now_ms()
  if not cached_now then
    local t = redis.call('TIME')
    cached_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return cached_now
end

local function is_terminal(state)
  return state == 'succeeded' or state == 'deadLettered' or state == 'cancelled'
end

-- Whole numbers as text. Lua's `tostring` (and cjson) format with `%.14g`, printf's
-- floating-point path: about three times `%d`'s work.
local function integer_text(n)
  return string.format('%d', n)
end
-- Attempts are small numbers: their texts are kept.
local small_texts = {}
local function small_text(n)
  local text = small_texts[n]
  if not text then
    text = integer_text(n)
    small_texts[n] = text
  end
  return text
end

-- Times after submission (`st`, `ft`, `due`) are stored as offsets from it (a few digits instead
-- of thirteen). Written out field by field: a loop over their names cost more than the rest of
-- the load.

-- The state the read model holds each job in, for jobs this call has loaded or created (the
-- fold moves a job out of this state's list).
local projected = {}
-- For a finished job among those: the ms its finished list's entry was made at (see `fold`).
local listed_at = {}

-- The time of one entry of a job's history: `<ms after t>:<seq>`, or a full id `<ms>-<seq>` in
-- records written before 2026-12-07.
local function history_time(job, entry)
  local offset = string.match(entry, '^(%d+):%d+$')
  if offset then return job.t + tonumber(offset) end
  local ms = string.match(entry, '^(%d+)%-%d+$')
  return ms and tonumber(ms) or nil
end

-- When a finished job ended: the time of its history's last event, the one that ended it (no
-- event is appended to a finished job that does not move it out of its state).
local function ended_at(job)
  local last = job.h and string.match(job.h, '([^,]+)$')
  return (last and history_time(job, last)) or job.ft
end

local function load_job(jobs, id)
  local raw = redis.call('HGET', jobs, id)
  if not raw then return nil end
  -- MessagePack rather than JSON: cjson formats every number with printf's `%.14g`, parses it
  -- with strtod and escapes the input's quotes, about a third more work per change, and a
  -- record takes ~100 bytes more.
  local job
  if string.byte(raw, 1) == 123 then job = cjson.decode(raw) else job = cmsgpack.unpack(raw) end
  job.id = id
  projected[id] = job.s
  job.l = job.l or 'normal'
  local t = job.t
  if job.st then job.st = job.st + t end
  if job.ft then job.ft = job.ft + t end
  if job.due then job.due = job.due + t end
  if is_terminal(job.s) then listed_at[id] = ended_at(job) end
  return job
end

local function save_job(jobs, job)
  local id, lane, progress, st, ft, due, t = job.id, job.l, job.p, job.st, job.ft, job.due, job.t
  job.id = nil
  if lane == 'normal' then job.l = nil end
  if job.s == 'succeeded' then job.p = nil end
  if st then job.st = st - t end
  if ft then job.ft = ft - t end
  if due then job.due = due - t end
  redis.call('HSET', jobs, id, cmsgpack.pack(job))
  job.id, job.l, job.p, job.st, job.ft, job.due = id, lane, progress, st, ft, due
end

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
-- on each XADD: about 2,000 of the 35,000 instructions an append costs the server).
local buffered = false
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
  local added = redis.pcall('XADD', key, integer_text(at) .. '-*', 'j', id)
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
-- The minute an outcome counts in, as text: kept while the calls' events fall in the same one.
local rate_minute, rate_minute_text = nil, nil

local function fold(m, id, actor, from, event_type, data, at, recorded, rates_since)
  if OUTCOMES[event_type] then
    local minute = math.floor(at / 60000)
    if minute >= rates_since then
      if minute ~= rate_minute then rate_minute, rate_minute_text = minute, integer_text(minute) end
      local field = actor .. '|' .. event_type .. '|' .. rate_minute_text
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
    if not move then
      move = { lists = m.lists, from = from }
      moves[id] = move
      move_order[#move_order + 1] = id
    end
    move.to, move.at = to, at
    return to or nil
  end
  if from and from ~= to and not FINISHED[from] then redis.call('ZREM', m.lists[from], id) end
  if to and not FINISHED[to] then redis.call('ZADD', m.lists[to], at, id) end
  return to or nil
end

-- Writes what `buffer_model` held back; a buffering script calls it before it returns.
local function flush_model()
  local removals, additions = {}, {}
  for _, id in ipairs(move_order) do
    local move = moves[id]
    if move.from and move.from ~= move.to and not FINISHED[move.from] then
      local key = move.lists[move.from]
      removals[key] = removals[key] or {}
      table.insert(removals[key], id)
    end
    if move.to and not FINISHED[move.to] then
      local key = move.lists[move.to]
      additions[key] = additions[key] or {}
      table.insert(additions[key], move.at)
      table.insert(additions[key], id)
    end
  end
  for key, ids in pairs(removals) do redis.call('ZREM', key, unpack(ids)) end
  for key, pairs_ in pairs(additions) do redis.call('ZADD', key, unpack(pairs_)) end
  for key, fields in pairs(rate_adds) do
    for field, n in pairs(fields) do redis.call('HINCRBY', key, field, n) end
  end
  for events, maxlen in pairs(trims) do redis.call('XTRIM', events, 'MAXLEN', '~', maxlen) end
  moves, move_order, rate_adds, trims = {}, {}, {}, {}
end

-- Appends one event to the partition's log and records its id in the job's history.
-- `data` is a JSON object text or nil. Every event carries the same fields in the same order,
-- with '' for an absent one: a stream stores the field names of such entries once per node
-- rather than once per entry. An event's time is its entry id's: the id is asked for at `at`
-- (`<at>-*`), so the log needs no time field of its own; only when the log's newest entry is
-- later (the server clock stepped back) does Redis choose the id, and the time with it.
-- A call appends its events at one instant: the id it asks for is made once.
local id_prefix_at, id_prefix = nil, nil

-- The XADD of an event, its fields passed as they are (a table of them to unpack cost more).
local function add_event(call, events, trim, maxlen, entry_id, job, event_type, worker, data)
  if trim then
    return call('XADD', events, 'MAXLEN', '~', maxlen, entry_id, 'v', '1', 'type', event_type, 'job', job.id,
      'actor', job.a, 'n', small_text(job.n), 'w', worker or '', 'c', job.c or '', 'k', job.k or '', 'd', data or '')
  end
  return call('XADD', events, entry_id, 'v', '1', 'type', event_type, 'job', job.id,
    'actor', job.a, 'n', small_text(job.n), 'w', worker or '', 'c', job.c or '', 'k', job.k or '', 'd', data or '')
end

local function append_event(events, maxlen, job, event_type, at, worker, data)
  if id_prefix_at ~= at then id_prefix_at, id_prefix = at, integer_text(at) .. '-' end
  if buffered then trims[events] = maxlen end
  local id = add_event(redis.pcall, events, not buffered, maxlen, id_prefix .. '*', job, event_type, worker, data)
  local ms, seq
  if type(id) == 'table' and id.err then
    id = add_event(redis.call, events, true, maxlen, '*', job, event_type, worker, data)
  elseif string.find(id, id_prefix, 1, true) == 1 then
    -- The id asked for: its time is `at`, nothing to parse.
    ms, seq = at, string.sub(id, #id_prefix + 1)
  end
  if not ms then
    local ms_text
    ms_text, seq = string.match(id, '^(%d+)-(%d+)$')
    ms = tonumber(ms_text)
  end
  -- Counted only for progress, the one event a job can have without bound.
  if event_type ~= 'progress' or not job.h or select(2, string.gsub(job.h, ',', ',')) + 1 < MAX_HISTORY then
    -- Stored as `<ms after submission>:<seq>`: a third of the full id's length.
    local entry = integer_text(ms - (job.t or 0)) .. ':' .. seq
    job.h = (job.h and (job.h .. ',') or '') .. entry
  end
  if model then
    projected[job.id] = fold(model, job.id, job.a, projected[job.id], event_type, data, ms, not job.pseudo, 0)
  end
  return id
end

-- The consumer that holds `entry` and how often it was delivered; nil when nobody holds it.
local function holder_of(inbox, group, entry)
  local pending = redis.call('XPENDING', inbox, group, entry, entry, 1)
  local first = pending[1]
  if not first then return nil, 0 end
  return first[2], tonumber(first[4])
end

-- Fencing: only the consumer holding the job's current entry may change a running job. A
-- started job's record names its holder (`w`): `start` sets it, and `reclaim`, the only other
-- change of hands, sets it too, so no XPENDING is asked per job. A delivery read but never
-- started (released at a worker's stop) is looked up in the pending list.
local function holds(inbox, group, consumer, job, entry)
  if job.x ~= entry then return false end
  if job.s == 'active' then return job.w == consumer end
  return holder_of(inbox, group, entry) == consumer
end

-- The job a fenced call may change, or the refusal to answer with: it must exist, still run,
-- and its current entry must be held by `consumer`.
local function held_job(jobs, inbox, id, entry, group, consumer)
  local job = load_job(jobs, id)
  if not job then return nil, { NOT_FOUND } end
  -- Whether this consumer ended it tells a worker that its own earlier call (one that timed out
  -- on the way back) did: nothing was lost.
  if is_terminal(job.s) then return nil, { TERMINAL, job.s, job.w == consumer and 1 or 0 } end
  if not holds(inbox, group, consumer, job, entry) then return nil, { LOST } end
  return job, nil
end

local function ack_delete(inbox, group, entry)
  redis.call('XACK', inbox, group, entry)
  redis.call('XDEL', inbox, entry)
end

-- A stream id's milliseconds and sequence number.
local function id_parts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

-- Deletes acknowledged entries (`acks`, just acknowledged) from an inbox. Those older than every
-- entry still pending go in one XTRIM MINID, which drops whole stream nodes; the others one by
-- one with XDEL, which searches its node for each (it was ~12 % of complete-many's CPU). Safe
-- because the group reads the inbox from its start (`Deliveries.ensureGroup`): every entry
-- older than the oldest pending one was delivered and, pending no more, acknowledged; with
-- nothing pending, every entry up to the newest acknowledged one.
local function delete_acknowledged(inbox, group, acks)
  local pending = redis.call('XPENDING', inbox, group)
  local bound_ms, bound_seq
  if tonumber(pending[1]) > 0 then
    bound_ms, bound_seq = id_parts(pending[2])
  else
    for _, entry in ipairs(acks) do
      local ms, seq = id_parts(entry)
      if not bound_ms or ms > bound_ms or (ms == bound_ms and seq >= bound_seq) then bound_ms, bound_seq = ms, seq + 1 end
    end
  end
  local rest = {}
  for _, entry in ipairs(acks) do
    local ms, seq = id_parts(entry)
    if ms > bound_ms or (ms == bound_ms and seq >= bound_seq) then rest[#rest + 1] = entry end
  end
  if #rest < #acks then
    redis.call('XTRIM', inbox, 'MINID', integer_text(bound_ms) .. '-' .. integer_text(bound_seq))
  end
  if #rest > 0 then redis.call('XDEL', inbox, unpack(rest)) end
end

local function enqueue(inbox, job)
  job.x = redis.call('XADD', inbox, '*', 'j', job.id, 'n', small_text(job.n))
end

-- Moves a job to a terminal state. Its list in the read model, in the order jobs got there, is
-- also its expiry index: `expire.lua` deletes the records at its old end.
local function finish(job, state, at)
  job.s = state
  job.ft = at
  job.x = nil
  job.cr = nil
end

-- A running job whose cancel was requested ends cancelled, whoever asks next.
local function apply_cancel(jobs, events, inbox, group, maxlen, job, worker)
  if job.x then ack_delete(inbox, group, job.x) end
  local now = now_ms()
  finish(job, 'cancelled', now)
  append_event(events, maxlen, job, 'cancelled', now, worker, nil)
  save_job(jobs, job)
end

-- Dead-letters a job: its entry leaves the inbox, a dead letter is written, the job ends.
local function dead_letter(jobs, events, inbox, group, dead, maxlen, dead_maxlen, job, reason, error_json, worker)
  if job.x then ack_delete(inbox, group, job.x) end
  local now = now_ms()
  local fields = { 'XADD', dead, 'MAXLEN', '~', dead_maxlen, '*', 'j', job.id, 'reason', reason, 'n', small_text(job.n), 'at', integer_text(now) }
  if error_json then
    fields[#fields + 1] = 'error'
    fields[#fields + 1] = error_json
    job.e = error_json
  end
  job.dl = redis.call(unpack(fields))
  job.r = reason
  finish(job, 'deadLettered', now)
  local data = '{"reason":"' .. reason .. '"'
  if error_json then data = data .. ',"error":' .. error_json end
  append_event(events, maxlen, job, 'deadLettered', now, worker, data .. '}')
  save_job(jobs, job)
end

-- Creates one job (queued, or delayed in `delayed`) and appends `submitted`; an existing id is
-- a duplicate and writes nothing. Shared by submit and submit-many.
local function submit_job(jobs, events, inbox, delayed, maxlen, now, id, actor, lane, input, max_attempts, delay, correlation, causation)
  local existing = load_job(jobs, id)
  if existing then return DUPLICATE, existing.s end
  local job = { id = id, a = actor, l = lane, n = 1, m = tonumber(max_attempts), i = input, t = now }
  if correlation ~= '' then job.c = correlation end
  if causation ~= '' then job.k = causation end
  -- The usual lane goes without saying (readers default it), as in the record.
  local data = '{"input":' .. input .. (lane == 'normal' and '' or (',"lane":"' .. lane .. '"'))
    .. ',"maxAttempts":' .. max_attempts
  if tonumber(delay) > 0 then
    job.s = 'delayed'
    job.due = now + tonumber(delay)
    redis.call('ZADD', delayed, job.due, job.id)
    data = data .. ',"delayUntil":' .. job.due
  else
    job.s = 'queued'
    enqueue(inbox, job)
  end
  append_event(events, maxlen, job, 'submitted', now, nil, data .. '}')
  save_job(jobs, job)
  return OK, job.s
end

-- Starts one delivery (fenced): the job becomes active and `started` is appended. Entries whose
-- job is gone or over are cleaned from the inbox. Shared by start and start-many.
-- `just_read`: the entry was read for `consumer` in this very call, so it holds it. `paused`: the
-- actor is paused; the delivery is refused unchanged (the worker hands it back).
-- Returns the reply start documents, as values rather than a table: claim puts them in its
-- entry's reply directly (a table per job cost about as much as the rest of the reply).
local function start_job(jobs, events, inbox, group, consumer, maxlen, id, entry, just_read, paused)
  if not just_read and holder_of(inbox, group, entry) ~= consumer then return LOST end
  if paused then return ACTOR_PAUSED end
  local job = load_job(jobs, id)
  if not job then
    ack_delete(inbox, group, entry)
    return NOT_FOUND
  end
  if is_terminal(job.s) then
    ack_delete(inbox, group, entry)
    return TERMINAL, job.s
  end
  if job.x ~= entry then
    ack_delete(inbox, group, entry)
    return WRONG_STATE, job.s
  end
  if job.cr then return CANCEL_REQUESTED end
  local now = now_ms()
  job.s = 'active'
  job.st = now
  job.w = consumer
  append_event(events, maxlen, job, 'started', now, consumer, nil)
  save_job(jobs, job)
  return OK, job.i, job.n, job.m, job.c or '', job.k or ''
end

-- Completes one running job (fenced, at most once): `succeeded` with its output, or `cancelled`
-- when a cancel was requested meanwhile. Shared by complete and complete-many. With `acks`, the
-- entry is added to it for the caller to acknowledge and delete with the batch's others.
-- Returns the reply complete documents.
local function complete_job(jobs, events, inbox, group, consumer, maxlen, id, entry, output, acks)
  local job, refusal = held_job(jobs, inbox, id, entry, group, consumer)
  if refusal then return refusal end
  if job.cr then
    apply_cancel(jobs, events, inbox, group, maxlen, job, consumer)
    return { CANCEL_REQUESTED }
  end
  if acks then acks[#acks + 1] = entry else ack_delete(inbox, group, entry) end
  local now = now_ms()
  job.o = output
  job.p = 1
  finish(job, 'succeeded', now)
  append_event(events, maxlen, job, 'succeeded', now, consumer, '{"output":' .. output .. '}')
  save_job(jobs, job)
  return OK_REPLY
end

-- Reads up to `count` new entries of an actor's three lane inboxes (high first) for `consumer`
-- and starts each (as start_job does). Shared by claim and complete-many (which claims the next
-- jobs in the call that completes the last ones). Returns one {lane, entry id, job id, then the
-- start reply's values} per entry read, lane 1 high .. 3 low; an entry that names no job has job
-- id '' and no start reply (the worker dead-letters it).
local function claim_jobs(jobs, events, inboxes, group, consumer, maxlen, count)
  local claimed = {}
  local left = count
  for lane = 1, 3 do
    if left <= 0 then break end
    local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', left, 'STREAMS', inboxes[lane], '>')
    if reply then
      for _, entry in ipairs(reply[1][2]) do
        local fields = entry[2]
        local id = ''
        for i = 1, #fields, 2 do
          if fields[i] == 'j' then id = fields[i + 1] end
        end
        if id ~= '' then
          claimed[#claimed + 1] = { lane, entry[1], id,
            start_job(jobs, events, inboxes[lane], group, consumer, maxlen, id, entry[1], true, false) }
        else
          claimed[#claimed + 1] = { lane, entry[1], id }
        end
        left = left - 1
      end
    end
  end
  return claimed
end

-- Every script runs as a function of one library (see Scripts.ts), whose top level runs once at
-- load: the state above lives on between calls, so each call starts by resetting what is per
-- call. The caches (small_texts, the rate minute and the id prefix) are keyed by what they hold.
local function begin_call()
  cached_now = nil
  projected, listed_at = {}, {}
  model = nil
  buffered = false
  moves, move_order, rate_adds, trims = {}, {}, {}, {}
  rebuilding, unlisted = false, 0
end
