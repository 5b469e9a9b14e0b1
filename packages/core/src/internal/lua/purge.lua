-- purge: deletes a dead-lettered job (its record and its dead letter), appending `purged`, which
-- takes it out of the read model.
-- KEYS: 1 jobs, 2 events, 3 dead, 4 rates, 5 list queued, 6 list delayed, 7 list active, 8 list retrying, 9 list succeeded, 10 list deadLettered, 11 list cancelled
-- ARGV: 1 job id, 2 events max length
-- Returns: {1} purged; {-2} no such job; {-5, state} not dead-lettered
local job_id, maxlen = ARGV[1], ARGV[2]
use_model(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
local job = load_job(KEYS[1], job_id)
if not job then return { NOT_FOUND } end
if job.s ~= 'deadLettered' then return { WRONG_STATE, job.s } end
if job.dl then redis.call('XDEL', KEYS[3], job.dl) end
append_event(KEYS[2], maxlen, job, 'purged', now_ms(), nil, nil)
redis.call('HDEL', KEYS[1], job.id)
return { OK }
