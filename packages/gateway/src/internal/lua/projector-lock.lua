-- projector-lock: takes or keeps the right to fold one partition's log, so that one process
-- folds each partition and every job's events are folded in order.
-- KEYS: 1 lock
-- ARGV: 1 owner, 2 ttl ms
-- Returns: 2 when `owner` takes the lock now (another holder may have left unacknowledged
--          entries), 1 when it already held it, 0 when another process does
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
