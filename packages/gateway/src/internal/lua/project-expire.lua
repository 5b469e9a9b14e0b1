-- project-expire: drops the views of jobs finished longer ago than the retention, and takes
-- them out of the per-actor counts.
-- KEYS: 1 view jobs, 2 view counts, 3 view expiries
-- ARGV: 1 most to drop
-- Returns: how many views were dropped
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then
    local view = cjson.decode(raw)
    redis.call('HINCRBY', KEYS[2], view.actor .. '|' .. view.state, -1)
    redis.call('HDEL', KEYS[1], id)
  end
  redis.call('ZREM', KEYS[3], id)
end
return #ids
