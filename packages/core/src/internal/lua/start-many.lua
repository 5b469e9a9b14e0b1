-- start-many: `start` for several deliveries of one inbox in one call (a worker starts a whole
-- read batch at once). Each delivery is fenced and answered on its own.
-- KEYS: 1 jobs, 2 events, 3 inbox
-- ARGV: 1 group, 2 consumer, 3 events max length, then pairs: job id, entry id
-- Returns: one reply per pair, in order, each as `start` answers it
local replies = {}
for i = 4, #ARGV, 2 do
  replies[#replies + 1] = start_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[i], ARGV[i + 1])
end
return replies
