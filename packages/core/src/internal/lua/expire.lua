-- expire: deletes the records of jobs that ended longer ago than their retention.
-- KEYS: 1 jobs, 2 expiries
-- ARGV: 1 most to delete
-- Returns: how many records were deleted
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
if #ids == 0 then return 0 end
redis.call('HDEL', KEYS[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
return #ids
