-- claim: reads new deliveries of one actor's inboxes in one partition for this consumer, high
-- lane first, and starts each (as `start` does), in one call: a worker with a backlog gets
-- running jobs in one round trip instead of a read and then a start. (XREADGROUP without BLOCK
-- is allowed in a script; a worker falls back to a blocking read when this finds nothing.)
-- KEYS: 1 jobs, 2 events, 3 high inbox, 4 normal inbox, 5 low inbox
-- ARGV: 1 group, 2 consumer, 3 events max length, 4 most to claim
-- Returns: one {lane, entry id, job id, start reply} per entry read, lane 1 high .. 3 low;
--          an entry that names no job has job id '' and no start reply (the worker dead-letters it)
local inboxes = { KEYS[3], KEYS[4], KEYS[5] }
local claimed = {}
local left = tonumber(ARGV[4])
for lane = 1, 3 do
  if left <= 0 then break end
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left, 'STREAMS', inboxes[lane], '>')
  if reply then
    for _, entry in ipairs(reply[1][2]) do
      local fields = entry[2]
      local id = ''
      for i = 1, #fields, 2 do
        if fields[i] == 'j' then id = fields[i + 1] end
      end
      local started = {}
      if id ~= '' then
        started = start_job(KEYS[1], KEYS[2], inboxes[lane], ARGV[1], ARGV[2], ARGV[3], id, entry[1], true)
      end
      claimed[#claimed + 1] = { lane, entry[1], id, started }
      left = left - 1
    end
  end
end
return claimed
