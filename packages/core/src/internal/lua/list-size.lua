-- list-size: how many jobs each of a partition's read-model lists holds: a sorted set's ZCARD,
-- a finished list's (a stream, see lib/model.lua) XLEN. One call for all of them: the overview
-- asks every second, for every actor and state. Read-only.
-- KEYS: 1 list, then more lists of the same partition
-- ARGV: none
-- Returns: one size per list, in order
local function size_of(key)
  if redis.call('TYPE', key).ok == 'stream' then return redis.call('XLEN', key) end
  return redis.call('ZCARD', key)
end
local sizes = { size_of(KEYS[1]) }
for i = 2, #KEYS do sizes[i] = size_of(KEYS[i]) end
return sizes
