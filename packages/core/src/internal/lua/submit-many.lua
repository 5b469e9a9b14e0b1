-- submit-many: submit for many jobs of one actor and lane in one partition, in one call (what
-- `submitMany` sends). Each job is created or found as a duplicate exactly as by submit.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed, 5 actors, 6 rates, 7 list queued, 8 list delayed, 9 list active, 10 list retrying, 11 list succeeded, 12 list deadLettered, 13 list cancelled
-- ARGV: 1 actor, 2 lane, 3 max attempts, 4 events max length, then 5 values per job:
--       job id, input (JSON text), delay ms (0: none), correlation id ('' none), causation id ('' none)
-- Returns: per job, in order, code (1 created, 2 duplicate) and state: {code, state, code, state, …}
local actor, lane, max_attempts, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
use_model(KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13])
buffer_model()
local now = now_ms()
local replies = {}
for i = 5, #ARGV, 5 do
  local code, state = submit_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], maxlen, now, ARGV[i], actor, lane,
    ARGV[i + 1], max_attempts, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  replies[#replies + 1] = code
  replies[#replies + 1] = state
end
-- The partition knows its actors (the expirer and a rebuild find their lists by them).
redis.call('SADD', KEYS[5], actor)
flush_model()
return replies
