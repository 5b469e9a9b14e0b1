-- start: marks a delivery as running and appends `started`. Fenced: only the consumer holding
-- the entry may start it. Entries whose job is gone or over are cleaned from the inbox.
-- KEYS: 1 jobs, 2 events, 3 inbox
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length
-- Returns: {1, input, attempt, max attempts, correlation id, causation id} started;
--          {-1} not held by this consumer; {-2} no such job (entry cleaned);
--          {-3, state} job already over (entry cleaned); {-5, state} stale entry (cleaned);
--          {-4} cancel requested: the caller confirms the cancel
return start_job(KEYS[1], KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[1], ARGV[2])
