-- project: writes one job's folded view and keeps the per-actor counts and rates in step.
-- Idempotent: a view already past the given event is left alone. Guarded: the view must still
-- be the one the fold started from (the caller reads it again and refolds otherwise).
-- KEYS: 1 view jobs, 2 view counts, 3 view expiries, 4 rates of the minute
-- ARGV: 1 job id, 2 id of the newest event folded in, 3 view JSON ('' deletes the view),
--       4 state of the view ('' when deleted), 5 actor, 6 expires at ms (0: not finished),
--       7 last event id the fold started from ('' none), 8.. rate fields to count (`actor|outcome`)
-- Returns: 1 applied; 0 already applied; -5 the view changed since it was read
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function newer(a, b)
  local ams, aseq = id_parts(a)
  local bms, bseq = id_parts(b)
  return ams > bms or (ams == bms and aseq > bseq)
end

local raw = redis.call('HGET', KEYS[1], ARGV[1])
local last, state = '', nil
if raw then
  local view = cjson.decode(raw)
  last = view.lastEventId
  state = view.state
end
if last ~= '' and not newer(ARGV[2], last) then return 0 end
if last ~= ARGV[7] then return WRONG_STATE end

if state ~= ARGV[4] then
  if state then redis.call('HINCRBY', KEYS[2], ARGV[5] .. '|' .. state, -1) end
  if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[5] .. '|' .. ARGV[4], 1) end
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  if tonumber(ARGV[6]) > 0 then
    redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
  else
    redis.call('ZREM', KEYS[3], ARGV[1])
  end
end
for i = 8, #ARGV do
  redis.call('HINCRBY', KEYS[4], ARGV[i], 1)
  redis.call('EXPIRE', KEYS[4], 7200)
end
return OK
