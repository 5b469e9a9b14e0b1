-- complete: a running job succeeded. Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 rates, 5 list queued, 6 list delayed, 7 list active, 8 list retrying, 9 list succeeded, 10 list deadLettered, 11 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 output (JSON text), 6 events max length
-- Returns: {1} succeeded; {-1} not held by this consumer (nothing changed); {-2} no such job;
--          {-3, state, 1 if this consumer ended it else 0} already over (nothing changed); {-4} a cancel was requested: cancelled instead
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, output, maxlen = ARGV[4], ARGV[5], ARGV[6]
use_model(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
return complete_job(KEYS[1], KEYS[2], KEYS[3], group, consumer, maxlen,
  job_id, entry_id, output)
