-- complete: a running job succeeded. Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 expiries, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 output (JSON text), 6 events max length,
--       7 retention ms
-- Returns: {1} succeeded; {-1} not held by this consumer (nothing changed); {-2} no such job;
--          {-3, state, 1 if this consumer ended it else 0} already over (nothing changed); {-4} a cancel was requested: cancelled instead
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, output, maxlen, retention_ms = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
return complete_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], group, consumer, maxlen, tonumber(retention_ms),
  job_id, entry_id, output)
