-- rate-acquire: takes one permit from an actor's rolling window, shared by all its workers.
-- The window is a sorted set of permit times; permits older than the window fall out.
-- KEYS: 1 window (sorted set)
-- ARGV: 1 limit, 2 window ms, 3 permit id (unique per call)
-- Returns: 0 when the permit was taken; otherwise ms until one frees up
local now = now_ms()
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
