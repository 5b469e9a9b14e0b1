-- expire: deletes the records of jobs that ended longer ago than their retention, and with each
-- record the job's status view, which leaves the per-actor counts. One script, so the projection
-- never holds a view whose record is gone (the projector's write refuses to make one again).
-- A view is a JSON array whose second and third items are the job's actor and state (see the
-- gateway's Projection.encodeView).
-- KEYS: 1 jobs, 2 expiries, 3 view jobs, 4 view counts
-- ARGV: 1 most to delete
-- Returns: how many records were deleted
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
if #ids == 0 then return 0 end
local views = redis.call('HMGET', KEYS[3], unpack(ids))
local viewed, counts = {}, {}
for i = 1, #ids do
  if views[i] then
    viewed[#viewed + 1] = ids[i]
    -- A view that does not read as one is deleted without touching the counts.
    local ok, view = pcall(cjson.decode, views[i])
    if ok and type(view) == 'table' and type(view[2]) == 'string' and type(view[3]) == 'string' then
      local field = view[2] .. '|' .. view[3]
      counts[field] = (counts[field] or 0) + 1
    end
  end
end
redis.call('HDEL', KEYS[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
if #viewed > 0 then redis.call('HDEL', KEYS[3], unpack(viewed)) end
for field, n in pairs(counts) do redis.call('HINCRBY', KEYS[4], field, -n) end
return #ids
