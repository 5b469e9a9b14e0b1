-- sweep-inbox: finds an actor's jobs stranded by a lost inbox entry (deleted by hand, or by a
-- tool, while the record still says queued or active) and requeues each one: a fresh entry in
-- its lane's inbox and `requeued` with `from: lost`, the attempt not counted. One bounded step
-- of a scan over the partition's job records (HSCAN from a cursor). An entry still in the
-- group's pending list is left alone, deleted or not: its holder completes it, or the reclaimer
-- drops it from the list once stalled, and a later sweep finds the job then.
-- KEYS: 1 jobs, 2 events, 3 high inbox, 4 normal inbox, 5 low inbox, 6 rates, 7 list queued, 8 list delayed, 9 list active, 10 list retrying, 11 list succeeded, 12 list deadLettered, 13 list cancelled
-- ARGV: 1 group, 2 actor, 3 cursor ('0' to start), 4 count (records looked at, about),
--       5 events max length
-- Returns: {next cursor ('0': the scan is complete), requeued count}
local group, actor, cursor, count, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local inboxes = { high = KEYS[3], normal = KEYS[4], low = KEYS[5] }
use_model(KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13])

-- Whether an entry is still in the inbox stream or still held in its group's pending list.
local function entry_alive(inbox, entry)
  if #redis.call('XRANGE', inbox, entry, entry) > 0 then return true end
  local ok, pending = pcall(redis.call, 'XPENDING', inbox, group, entry, entry, 1)
  return ok and pending[1] ~= nil
end

local queued_packed, active_packed = cmsgpack.pack('s') .. cmsgpack.pack('queued'), cmsgpack.pack('s') .. cmsgpack.pack('active')
local actor_packed, actor_json = cmsgpack.pack('a') .. cmsgpack.pack(actor), '"a":' .. cjson.encode(actor)
local scanned = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', count)
local fields, requeued = scanned[2], 0
for i = 1, #fields, 2 do
  local raw = fields[i + 1]
  -- A cheap look before decoding: only running or waiting records of this actor can be stranded
  -- (MessagePack records, and JSON ones written before).
  if (string.find(raw, queued_packed, 1, true) or string.find(raw, active_packed, 1, true)
        or string.find(raw, '"s":"queued"', 1, true) or string.find(raw, '"s":"active"', 1, true))
      and (string.find(raw, actor_packed, 1, true) or string.find(raw, actor_json, 1, true)) then
    local job = load_job(KEYS[1], fields[i])
    local inbox = inboxes[job.l]
    if job.a == actor and inbox and (job.s == 'queued' or job.s == 'active')
        and not (job.x and entry_alive(inbox, job.x)) then
      enqueue(inbox, job)
      job.s = 'queued'
      job.p = 0
      job.w = nil
      job.st = nil
      append_event(KEYS[2], maxlen, job, 'requeued', now_ms(), nil, '{"from":"lost"}')
      save_job(KEYS[1], job)
      requeued = requeued + 1
    end
  end
end
return { scanned[1], requeued }
