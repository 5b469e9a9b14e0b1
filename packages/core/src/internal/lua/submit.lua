-- submit: creates a job, queued in its inbox or waiting in the delayed set, and appends
-- `submitted`. Idempotent: an existing job id returns the existing job and writes nothing.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed
-- ARGV: 1 job id, 2 actor, 3 lane, 4 input (JSON text), 5 max attempts, 6 delay ms (0: none),
--       7 correlation id ('' none), 8 causation id ('' none), 9 events max length
-- Returns: {1, state} created; {2, state} duplicate (nothing written)
local code, state = submit_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[9], now_ms(), ARGV[1], ARGV[2], ARGV[3],
  ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return { code, state }
