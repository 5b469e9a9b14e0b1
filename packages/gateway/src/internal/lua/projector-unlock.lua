-- projector-unlock: gives up the right to fold one partition's log, if `owner` still holds it, so
-- that another process can take over at once instead of after the lock's TTL.
-- KEYS: 1 lock
-- ARGV: 1 owner
-- Returns: 1 when the lock was released, 0 when `owner` did not hold it
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
