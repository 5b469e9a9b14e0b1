-- start-many: `start` for several deliveries of one inbox in one call (a worker starts a whole
-- read batch at once). Each delivery is fenced and answered on its own.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 paused, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 group, 2 consumer, 3 events max length, 4 actor, then pairs: job id, entry id
-- Returns: one reply per pair, in order, each as `start` answers it
local group, consumer, maxlen, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
buffer_model()
local paused = redis.call('SISMEMBER', KEYS[4], actor) == 1
local replies = {}
for i = 5, #ARGV, 2 do
  replies[#replies + 1] = { start_job(KEYS[1], KEYS[2], KEYS[3], group, consumer, maxlen, ARGV[i], ARGV[i + 1], false, paused) }
end
flush_model()
return replies
