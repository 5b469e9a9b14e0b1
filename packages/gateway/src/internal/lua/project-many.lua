-- project-many: writes the folded views of many jobs of one partition in one call, keeping the
-- per-actor counts and the minute's outcome rates in step. For each job it is
-- - idempotent: a view already at or past the newest event folded in is left alone;
-- - guarded: the stored view must still be the one the fold started from, otherwise the job is
--   reported back, and the caller reads its view and folds it again;
-- - never resurrecting: a job without a record (expired, purged, or the pseudo job of a malformed
--   inbox entry) gets no view, and loses one it still has, so a lagging projector or a rebuild
--   cannot bring back a view that expire.lua deleted with its record. Its outcomes still count
--   in the rates, which are about events, not retained jobs.
-- A job's log entries are acknowledged in the same call as its view is written (or found already
-- written), never for a job reported back: so a crash between folding and acknowledging cannot
-- happen, and nothing is counted twice in the rates by a projector reading entries again.
-- A stored view is a JSON array whose first three items are its last event id, actor and state
-- (see the gateway's Projection.encodeView).
-- KEYS: 1 view jobs, 2 view counts, 3 jobs, 4 rates of the minute, 5 events (the log)
-- ARGV: 1 projector group, then 8 per job: job id, id of the newest event folded in, view ('' deletes
--       it), its state ('' when deleted), actor, last event id of the view the fold started from
--       ('' none), outcomes to count in the rates (comma-separated, '' none), the job's entries
--       of this batch to acknowledge (comma-separated ids)
-- Returns: the ids of the jobs whose view changed since it was read
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function newer(a, b)
  local ams, aseq = id_parts(a)
  local bms, bseq = id_parts(b)
  return ams > bms or (ams == bms and aseq > bseq)
end

-- The last event id and state of a stored view; a view that does not read as one counts as absent.
local function head(raw)
  if not raw then return '', '' end
  local ok, view = pcall(cjson.decode, raw)
  if not ok or type(view) ~= 'table' or type(view[1]) ~= 'string' or type(view[3]) ~= 'string' then
    return '', ''
  end
  return view[1], view[3]
end

local PER_JOB = 8
local ids = {}
for i = 2, #ARGV, PER_JOB do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return {} end
local stored = redis.call('HMGET', KEYS[1], unpack(ids))

local sets, dels, stale, counts, rates, acks = {}, {}, {}, {}, {}, {}
local function add(totals, field, by) totals[field] = (totals[field] or 0) + by end

for j, id in ipairs(ids) do
  local a = 1 + (j - 1) * PER_JOB
  local newest, view, state, actor, from, outcomes, entries =
    ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  local last, old = head(stored[j])
  if last ~= '' and not newer(newest, last) then
    -- Already folded: nothing to write, only to acknowledge.
    for entry in string.gmatch(entries, '[^,]+') do acks[#acks + 1] = entry end
  elseif last ~= from then
    stale[#stale + 1] = id
  else
    for entry in string.gmatch(entries, '[^,]+') do acks[#acks + 1] = entry end
    if view ~= '' and redis.call('HEXISTS', KEYS[3], id) == 0 then view, state = '', '' end
    if old ~= state then
      if old ~= '' then add(counts, actor .. '|' .. old, -1) end
      if state ~= '' then add(counts, actor .. '|' .. state, 1) end
    end
    if view ~= '' then
      sets[#sets + 1] = id
      sets[#sets + 1] = view
    elseif stored[j] then
      dels[#dels + 1] = id
    end
    for outcome in string.gmatch(outcomes, '[^,]+') do add(rates, actor .. '|' .. outcome, 1) end
  end
end

if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
for field, by in pairs(counts) do
  if by ~= 0 then redis.call('HINCRBY', KEYS[2], field, by) end
end
if next(rates) then
  for field, by in pairs(rates) do redis.call('HINCRBY', KEYS[4], field, by) end
  redis.call('EXPIRE', KEYS[4], 7200)
end
if #acks > 0 then redis.call('XACK', KEYS[5], ARGV[1], unpack(acks)) end
return stale
