-- expire: deletes the records of jobs that ended longer ago than their retention, and takes each
-- out of its list in the read model in the same call: neither the lists nor their counts name a
-- job whose record is gone. A finished job's list is ordered by when it got there (a stream,
-- see lib/model.lua), so the lists are the expiry index too. Also drops outcomes per minute older
-- than the kept minutes.
-- The actors' lists arrive through KEYS (named by the partition's `actors` set, read first).
-- KEYS: 1 jobs, 2 rates, then per actor named in ARGV: list succeeded, list deadLettered, list cancelled
-- ARGV: 1 most to delete, 2 retention ms (succeeded, cancelled), 3 dead-letter retention ms,
--       then the actors, one per three list keys
-- Returns: how many records were deleted
local limit, retention_ms, dead_retention_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local deleted = 0
for i = 4, #ARGV do
  local k = 3 + (i - 4) * 3
  local lists = { { KEYS[k], retention_ms }, { KEYS[k + 1], dead_retention_ms }, { KEYS[k + 2], retention_ms } }
  for _, list in ipairs(lists) do
    if deleted >= limit then break end
    if redis.call('TYPE', list[1]).ok == 'zset' then as_stream(list[1]) end
    local entries = redis.call('XRANGE', list[1], '-', integer_text(now - list[2]), 'COUNT', limit - deleted)
    if #entries > 0 then
      local ids, entry_ids = {}, {}
      for i, entry in ipairs(entries) do
        entry_ids[i] = entry[1]
        ids[i] = entry[2][2]
      end
      call_spread('HDEL', KEYS[1], ids)
      call_spread('XDEL', list[1], entry_ids)
      deleted = deleted + #ids
    end
  end
end
-- The rates hash holds at most RATE_MINUTES minutes per actor and outcome. After a long pause
-- of every expirer, the old fields may be more than one unpack holds: all deletes go in pieces.
local oldest = math.floor(now / 60000) - RATE_MINUTES
local old = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local minute = tonumber(string.match(field, '|(%d+)$'))
  if not minute or minute < oldest then old[#old + 1] = field end
end
call_spread('HDEL', KEYS[2], old)
return deleted
