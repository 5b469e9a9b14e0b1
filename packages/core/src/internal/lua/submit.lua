-- submit: creates a job, queued in its inbox or waiting in the delayed set, and appends
-- `submitted`. Idempotent: an existing job id returns the existing job and writes nothing.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed, 5 actors, 6 rates, 7 list queued, 8 list delayed, 9 list active, 10 list retrying, 11 list succeeded, 12 list deadLettered, 13 list cancelled
--       (the read model of the job's actor: see lib/model.lua)
-- ARGV: 1 job id, 2 actor, 3 lane, 4 input (JSON text), 5 max attempts, 6 delay ms (0: none),
--       7 correlation id ('' none), 8 causation id ('' none), 9 events max length
-- Returns: {1, state} created; {2, state} duplicate (nothing written)
local job_id, actor, lane, input = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max_attempts, delay_ms, correlation_id, causation_id, maxlen = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
use_model(KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13])
local code, state = submit_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], maxlen, now_ms(), job_id, actor, lane,
  input, max_attempts, delay_ms, correlation_id, causation_id)
if code == OK then redis.call('SADD', KEYS[5], actor) end
return { code, state }
