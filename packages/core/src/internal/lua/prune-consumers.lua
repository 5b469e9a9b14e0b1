-- prune-consumers: removes consumers of an inbox's group that hold nothing and have been idle
-- at least the given time — what SIGKILLed or stopped workers leave behind. A consumer with
-- pending entries is never removed (XGROUP DELCONSUMER would drop its entries).
-- KEYS: 1 inbox
-- ARGV: 1 group, 2 least idle ms, 3 only this consumer ('' any)
-- Returns: how many consumers were removed
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return 0 end
local removed = 0
for _, consumer in ipairs(consumers) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  local wanted = ARGV[3] == '' or info['name'] == ARGV[3]
  if wanted and tonumber(info['pending']) == 0 and tonumber(info['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
