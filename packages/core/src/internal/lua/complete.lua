-- complete: a running job succeeded. Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 expiries
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 output (JSON text), 6 events max length,
--       7 retention ms
-- Returns: {1} succeeded; {-1} not held by this consumer (nothing changed); {-2} no such job;
--          {-3, state} already over (nothing changed); {-4} a cancel was requested: cancelled instead
return complete_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[6], tonumber(ARGV[7]),
  ARGV[1], ARGV[2], ARGV[5])
