-- list-size: how many jobs a read-model list holds: a sorted set's ZCARD, a finished list's (a
-- stream, see lib/model.lua) XLEN. Read-only.
-- KEYS: 1 list
-- ARGV: none
-- Returns: the size
if redis.call('TYPE', KEYS[1]).ok == 'stream' then return redis.call('XLEN', KEYS[1]) end
return redis.call('ZCARD', KEYS[1])
