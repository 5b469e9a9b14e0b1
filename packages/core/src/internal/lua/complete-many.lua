-- complete-many: `complete` for several jobs of one inbox in one call (a worker records the
-- results that finished together at once). Each job is fenced and answered on its own.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 expiries
-- ARGV: 1 group, 2 consumer, 3 events max length, 4 retention ms,
--       then triples: job id, entry id, output (JSON text)
-- Returns: one reply per triple, in order, each as `complete` answers it
local replies = {}
local acks = {}
local retention = tonumber(ARGV[4])
for i = 5, #ARGV, 3 do
  replies[#replies + 1] = complete_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], retention,
    ARGV[i], ARGV[i + 1], ARGV[i + 2], acks)
end
-- The completed entries leave the inbox in one XACK and one XDEL.
if #acks > 0 then
  redis.call('XACK', KEYS[3], ARGV[1], unpack(acks))
  redis.call('XDEL', KEYS[3], unpack(acks))
end
return replies
