-- expire: deletes the records of jobs that ended longer ago than their retention, and takes each
-- out of the read model's list it is in, in the same call: neither the lists nor their counts
-- name a job whose record is gone. Also drops outcomes per minute older than the kept minutes.
-- The actors' lists arrive through KEYS (named by the partition's `actors` set, read first); a
-- job of an actor not named here waits for a call that names it.
-- KEYS: 1 jobs, 2 expiries, 3 rates, then per actor named in ARGV: list succeeded, list deadLettered, list cancelled
-- ARGV: 1 most to delete, then the actors, one per three list keys
-- Returns: how many records were deleted
local limit = tonumber(ARGV[1])
local lists = {}
for i = 2, #ARGV do
  local k = 4 + (i - 2) * 3
  lists[ARGV[i]] = { succeeded = KEYS[k], deadLettered = KEYS[k + 1], cancelled = KEYS[k + 2] }
end
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
local gone = {}
if #ids > 0 then
  local records = redis.call('HMGET', KEYS[1], unpack(ids))
  for i, id in ipairs(ids) do
    local raw = records[i]
    local ok, job = false, nil
    if raw then ok, job = pcall(cjson.decode, raw) end
    if not ok or type(job) ~= 'table' or type(job.a) ~= 'string' then
      -- No record (or none that reads as one): nothing lists it.
      gone[#gone + 1] = id
    elseif lists[job.a] then
      local list = lists[job.a][job.s]
      if list then redis.call('ZREM', list, id) end
      gone[#gone + 1] = id
    end
  end
end
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
-- The rates hash holds at most RATE_MINUTES minutes per actor and outcome.
local oldest = math.floor(now / 60000) - RATE_MINUTES
local old = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  local minute = tonumber(string.match(field, '|(%d+)$'))
  if not minute or minute < oldest then old[#old + 1] = field end
end
if #old > 0 then redis.call('HDEL', KEYS[3], unpack(old)) end
return #gone
