-- Shared helpers, prepended to every script by Scripts.ts. Nothing here reads KEYS: every key
-- arrives as an argument from the script that declared it.
--
-- A job record (hash `jobs`, field = job id) is JSON with short fields:
--   a actor, l lane (absent: normal), s state, n attempt, m max attempts, i input (JSON text),
--   o output (JSON text), e last error (JSON text), c correlation id, k causation id,
--   x current inbox entry id, dl dead-letter entry id, cr cancel requested, t submitted at,
--   st started at, ft finished at, due delayed until, w worker, p progress,
--   h event ids (comma-separated, each `<ms after t>:<seq>`), r dead-letter reason.
-- Loaded, a record also has `id` (the hash field) and `l` always; `save_job` leaves out what
-- the store can do without (the id, the usual lane, the progress of a succeeded job) and keeps
-- `st`, `ft` and `due` as offsets from `t`: about a sixth of a record's memory.
-- States: queued, delayed, active, retrying, succeeded, deadLettered, cancelled.

local OK = 1
local DUPLICATE = 2
local LOST = -1
local NOT_FOUND = -2
local TERMINAL = -3
local CANCEL_REQUESTED = -4
local WRONG_STATE = -5

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

-- Times after submission are stored as offsets from it (a few digits instead of thirteen).
local OFFSET_TIMES = { 'st', 'ft', 'due' }

local function load_job(jobs, id)
  local raw = redis.call('HGET', jobs, id)
  if not raw then return nil end
  local job = cjson.decode(raw)
  job.id = id
  job.l = job.l or 'normal'
  for _, field in ipairs(OFFSET_TIMES) do
    if job[field] then job[field] = job[field] + job.t end
  end
  return job
end

local function save_job(jobs, job)
  local id, lane, progress = job.id, job.l, job.p
  local absolute = {}
  job.id = nil
  if lane == 'normal' then job.l = nil end
  if job.s == 'succeeded' then job.p = nil end
  for _, field in ipairs(OFFSET_TIMES) do
    absolute[field] = job[field]
    if job[field] then job[field] = job[field] - job.t end
  end
  redis.call('HSET', jobs, id, cjson.encode(job))
  job.id, job.l, job.p = id, lane, progress
  for _, field in ipairs(OFFSET_TIMES) do job[field] = absolute[field] end
end

-- Appends one event to the partition's log and records its id in the job's history.
-- `data` is a JSON object text or nil. Every event carries the same fields in the same order,
-- with '' for an absent one: a stream stores the field names of such entries once per node
-- rather than once per entry. An event's time is its entry id's: the id is asked for at `at`
-- (`<at>-*`), so the log needs no time field of its own; only when the log's newest entry is
-- later (the server clock stepped back) does Redis choose the id, and the time with it.
local function append_event(events, maxlen, job, event_type, at, worker, data)
  local fields = { 'v', '1', 'type', event_type, 'job', job.id, 'actor', job.a, 'n', tostring(job.n),
    'w', worker or '', 'c', job.c or '', 'k', job.k or '', 'd', data or '' }
  local id = redis.pcall('XADD', events, 'MAXLEN', '~', maxlen, tostring(at) .. '-*', unpack(fields))
  if type(id) == 'table' and id.err then
    id = redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  end
  -- Counted only for progress, the one event a job can have without bound.
  if event_type ~= 'progress' or not job.h or select(2, string.gsub(job.h, ',', ',')) + 1 < MAX_HISTORY then
    -- Stored as `<ms after submission>:<seq>`: a third of the full id's length.
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    local entry = string.format('%.0f', tonumber(ms) - (job.t or 0)) .. ':' .. seq
    job.h = (job.h and (job.h .. ',') or '') .. entry
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

-- Fencing: only the consumer holding the job's current entry may change a running job.
local function holds(inbox, group, consumer, job, entry)
  return job.x == entry and holder_of(inbox, group, entry) == consumer
end

-- The job a fenced call may change, or the refusal to answer with: it must exist, still run,
-- and its current entry must be held by `consumer`.
local function held_job(jobs, inbox, id, entry, group, consumer)
  local job = load_job(jobs, id)
  if not job then return nil, { NOT_FOUND } end
  if is_terminal(job.s) then return nil, { TERMINAL, job.s } end
  if not holds(inbox, group, consumer, job, entry) then return nil, { LOST } end
  return job, nil
end

local function ack_delete(inbox, group, entry)
  redis.call('XACK', inbox, group, entry)
  redis.call('XDEL', inbox, entry)
end

local function enqueue(inbox, job)
  job.x = redis.call('XADD', inbox, '*', 'j', job.id, 'n', tostring(job.n))
end

-- Moves a job to a terminal state; its record expires `retention_ms` later.
local function finish(expiries, job, state, at, retention_ms)
  job.s = state
  job.ft = at
  job.x = nil
  job.cr = nil
  redis.call('ZADD', expiries, at + retention_ms, job.id)
end

-- A running job whose cancel was requested ends cancelled, whoever asks next.
local function apply_cancel(jobs, events, inbox, group, expiries, maxlen, retention_ms, job, worker)
  if job.x then ack_delete(inbox, group, job.x) end
  local now = now_ms()
  finish(expiries, job, 'cancelled', now, retention_ms)
  append_event(events, maxlen, job, 'cancelled', now, worker, nil)
  save_job(jobs, job)
end

-- Dead-letters a job: its entry leaves the inbox, a dead letter is written, the job ends.
local function dead_letter(jobs, events, inbox, group, dead, expiries, maxlen, dead_maxlen, retention_ms, job, reason, error_json, worker)
  if job.x then ack_delete(inbox, group, job.x) end
  local now = now_ms()
  local fields = { 'XADD', dead, 'MAXLEN', '~', dead_maxlen, '*', 'j', job.id, 'reason', reason, 'n', tostring(job.n), 'at', tostring(now) }
  if error_json then
    fields[#fields + 1] = 'error'
    fields[#fields + 1] = error_json
    job.e = error_json
  end
  job.dl = redis.call(unpack(fields))
  job.r = reason
  finish(expiries, job, 'deadLettered', now, retention_ms)
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
-- `just_read`: the entry was read for `consumer` in this very call, so it holds it.
-- Returns the reply start documents.
local function start_job(jobs, events, inbox, group, consumer, maxlen, id, entry, just_read)
  local job = load_job(jobs, id)
  if not just_read and holder_of(inbox, group, entry) ~= consumer then return { LOST } end
  if not job then
    ack_delete(inbox, group, entry)
    return { NOT_FOUND }
  end
  if is_terminal(job.s) then
    ack_delete(inbox, group, entry)
    return { TERMINAL, job.s }
  end
  if job.x ~= entry then
    ack_delete(inbox, group, entry)
    return { WRONG_STATE, job.s }
  end
  if job.cr then return { CANCEL_REQUESTED } end
  local now = now_ms()
  job.s = 'active'
  job.st = now
  job.w = consumer
  append_event(events, maxlen, job, 'started', now, consumer, nil)
  save_job(jobs, job)
  return { OK, job.i, job.n, job.m, job.c or '', job.k or '' }
end

-- Completes one running job (fenced, at most once): `succeeded` with its output, or `cancelled`
-- when a cancel was requested meanwhile. Shared by complete and complete-many. With `acks`, the
-- entry is added to it for the caller to acknowledge and delete with the batch's others.
-- Returns the reply complete documents.
local function complete_job(jobs, events, inbox, expiries, group, consumer, maxlen, retention_ms, id, entry, output, acks)
  local job, refusal = held_job(jobs, inbox, id, entry, group, consumer)
  if refusal then return refusal end
  if job.cr then
    apply_cancel(jobs, events, inbox, group, expiries, maxlen, retention_ms, job, consumer)
    return { CANCEL_REQUESTED }
  end
  if acks then acks[#acks + 1] = entry else ack_delete(inbox, group, entry) end
  local now = now_ms()
  job.o = output
  job.p = 1
  finish(expiries, job, 'succeeded', now, retention_ms)
  append_event(events, maxlen, job, 'succeeded', now, consumer, '{"output":' .. output .. '}')
  save_job(jobs, job)
  return { OK }
end
