-- start: marks a delivery as running and appends `started`. Fenced: only the consumer holding
-- the entry may start it. Entries whose job is gone or over are cleaned from the inbox.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 paused, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length, 6 actor
-- Returns: {1, input, attempt, max attempts, correlation id, causation id} started;
--          {-1} not held by this consumer; {-2} no such job (entry cleaned);
--          {-3, state} job already over (entry cleaned); {-5, state} stale entry (cleaned);
--          {-4} cancel requested: the caller confirms the cancel;
--          {-6} the actor is paused (nothing changed: the caller hands the delivery back)
local job_id, entry_id, group, consumer, maxlen, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
local paused = redis.call('SISMEMBER', KEYS[4], actor) == 1
return { start_job(KEYS[1], KEYS[2], KEYS[3], group, consumer, maxlen, job_id, entry_id, false, paused) }
