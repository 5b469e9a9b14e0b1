-- The prelude every script runs with (Scripts.ts joins lib/records.lua, lib/model.lua,
-- lib/jobs.lua and lib/call.lua, in that order, into one chunk before the scripts). Nothing in it
-- reads KEYS: every key arrives as an argument from the script that declared it.
--
-- records.lua: reply codes, the server's clock, and job records.
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

-- Runs `command key [before] values...` over `values` in pieces: `unpack` puts every value on
-- Lua's stack, which holds ~8,000. An even piece keeps pairs (score and member, field and value)
-- together. `before`: one argument every piece takes ahead of its values (XACK's group).
local MOST_PER_CALL = 2000
local function call_spread(command, key, values, before)
  local n = #values
  for first = 1, n, MOST_PER_CALL do
    local last = math.min(first + MOST_PER_CALL - 1, n)
    if before then
      redis.call(command, key, before, unpack(values, first, last))
    else
      redis.call(command, key, unpack(values, first, last))
    end
  end
end

-- Offsets after submission as text (a job's history): the small ones kept, as attempts are.
local function offset_text(n)
  if n < 4096 then return small_text(n) end
  return integer_text(n)
end

-- The stream id a write asks for at `at` ms (`<at>-*`) and its prefix (`<at>-`), kept while a
-- call's writes fall in the same ms: a format and two concatenations per write otherwise.
local id_ms, id_prefix, id_pattern = nil, nil, nil
local function id_pattern_at(at)
  if id_ms ~= at then
    id_ms = at
    id_prefix = integer_text(at) .. '-'
    id_pattern = id_prefix .. '*'
  end
  return id_pattern, id_prefix
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

-- Whether this call buffers its writes: scripts that change many jobs set it (`buffer_model` in
-- model.lua) and write at the end (`flush_model`). Their records are written, as the call left
-- them, with one HSET per hash (`flush_records`): an HSET from Lua costs ~5,000 instructions
-- whatever it holds, one of fifty records ~3,000 each, and with AOF each command is also
-- propagated and written out on its own. A record saved in the call and loaded again is taken
-- from what the call saved: the hash still holds the one before.
local buffered = false
-- The records saved in the call, by hash, then by id.
local saved = {}

local function load_job(jobs, id)
  local pending = saved[jobs]
  local kept = pending and pending[id]
  if kept then return kept end
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

-- A record as stored.
local function packed(job)
  local id, lane, progress, st, ft, due, t = job.id, job.l, job.p, job.st, job.ft, job.due, job.t
  job.id = nil
  if lane == 'normal' then job.l = nil end
  if job.s == 'succeeded' then job.p = nil end
  if st then job.st = st - t end
  if ft then job.ft = ft - t end
  if due then job.due = due - t end
  local raw = cmsgpack.pack(job)
  job.id, job.l, job.p, job.st, job.ft, job.due = id, lane, progress, st, ft, due
  return raw
end

local function save_job(jobs, job)
  if not buffered then
    redis.call('HSET', jobs, job.id, packed(job))
    return
  end
  local pending = saved[jobs]
  if not pending then
    pending = {}
    saved[jobs] = pending
  end
  pending[job.id] = job
end

local function flush_records()
  for jobs, pending in pairs(saved) do
    local fields = {}
    for id, job in pairs(pending) do
      fields[#fields + 1] = id
      fields[#fields + 1] = packed(job)
    end
    call_spread('HSET', jobs, fields)
  end
  saved = {}
end
