-- jobs.lua (prelude, after model.lua): the event log, fencing, and the changes scripts share.

-- Appends one event to the partition's log and records its id in the job's history.
-- `data` is a JSON object text or nil. An event is two fields: `e`, a JSON array of the type, the
-- job id, the actor, the attempt, then the worker, correlation and causation ids ('' for an
-- absent one, trailing absent ones left out), and `d`, the data ('' for none). Two fields rather
-- than one per value: with AOF, each argument of an XADD is copied and written out again (an
-- append of nine fields cost 2.6-2.9 µs of server CPU, of these two 1.6-2.2). Entries written
-- until 2026-12-07 (version 1) have the fields `v type job actor n w c k d`; readers take both.
-- An event's time is its entry id's: the id is asked for at `at` (`<at>-*`), so the log needs no
-- time field of its own; only when the log's newest entry is later (the server clock stepped
-- back) does Redis choose the id, and the time with it.
-- A call appends its events at one instant: the id it asks for is made once (`id_pattern_at`).

-- A JSON string of `text`: escaped by cjson only when it holds a quote, a backslash or a
-- control character (correlation and causation ids are free text up to 128 characters).
local function json_string(text)
  if string.find(text, '[%c"\\]') then return cjson.encode(text) end
  return '"' .. text .. '"'
end

-- The worker's id as a JSON string, kept while a call's events name the same worker (the
-- pattern search cost ~0.3 µs an event).
local quoted_worker_of, quoted_worker = nil, nil

-- The `e` field of an event, made in one concatenation (each intermediate string cost as much
-- as the arguments it saved). Job ids reach the scripts validated (`JobId`: URL-safe
-- characters; a malformed entry's pseudo job is `entry-<entry id>`), so they go in as they are.
local function event_head(job, event_type, worker)
  local c, k = job.c, job.k
  if not (worker or c or k) then
    return '["' .. event_type .. '","' .. job.id .. '","' .. job.a .. '",' .. small_text(job.n) .. ']'
  end
  worker = worker or ''
  if quoted_worker_of ~= worker then quoted_worker_of, quoted_worker = worker, json_string(worker) end
  local ids = ''
  if k then ids = ',' .. json_string(c or '') .. ',' .. json_string(k) elseif c then ids = ',' .. json_string(c) end
  return '["' .. event_type .. '","' .. job.id .. '","' .. job.a .. '",' .. small_text(job.n) .. ',' .. quoted_worker .. ids .. ']'
end

-- The XADD of an event.
local function add_event(call, events, trim, maxlen, entry_id, head, data)
  if trim then return call('XADD', events, 'MAXLEN', '~', maxlen, entry_id, 'e', head, 'd', data or '') end
  return call('XADD', events, entry_id, 'e', head, 'd', data or '')
end

local function append_event(events, maxlen, job, event_type, at, worker, data)
  local pattern, prefix = id_pattern_at(at)
  if buffered then trims[events] = maxlen end
  local head = event_head(job, event_type, worker)
  local id = add_event(redis.pcall, events, not buffered, maxlen, pattern, head, data)
  local ms, seq
  if type(id) == 'table' and id.err then
    id = add_event(redis.call, events, true, maxlen, '*', head, data)
  elseif string.find(id, prefix, 1, true) == 1 then
    -- The id asked for: its time is `at`, nothing to parse.
    ms, seq = at, string.sub(id, #prefix + 1)
  end
  if not ms then
    local ms_text
    ms_text, seq = string.match(id, '^(%d+)-(%d+)$')
    ms = tonumber(ms_text)
  end
  -- Counted only for progress, the one event a job can have without bound.
  if event_type ~= 'progress' or not job.h or select(2, string.gsub(job.h, ',', ',')) + 1 < MAX_HISTORY then
    -- Stored as `<ms after submission>:<seq>`, a third of the full id's length; made in one
    -- concatenation (each string made costs about as much as a short Redis command).
    local offset = offset_text(ms - (job.t or 0))
    if job.h then job.h = job.h .. ',' .. offset .. ':' .. seq else job.h = offset .. ':' .. seq end
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
  call_spread('XDEL', inbox, rest)
end

-- An inbox entry names its job (`j`) and nothing else: the attempt and all the rest are in the
-- record, which `start` reads anyway. (Entries written until 2026-12-07 also carry `n`, the
-- attempt, which no reader needs.)
local function enqueue(inbox, job)
  job.x = redis.call('XADD', inbox, '*', 'j', job.id)
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
  -- Every field the call sets is named here, nil ones too: a table is sized by its constructor,
  -- and one that grows past it is rebuilt (~2,500 instructions from 8 fields to 16).
  local job = { id = id, a = actor, l = lane, n = 1, m = tonumber(max_attempts), i = input, t = now, s = nil,
    x = nil, h = nil, due = nil, c = correlation ~= '' and correlation or nil, k = causation ~= '' and causation or nil }
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
