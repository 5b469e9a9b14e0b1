-- confirm-cancel: the worker running a job whose cancel was requested has stopped its handler;
-- the job ends `cancelled`. Fenced.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 rates, 5 list queued, 6 list delayed, 7 list active, 8 list retrying, 9 list succeeded, 10 list deadLettered, 11 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length
-- Returns: {1} cancelled; {-1} not held; {-2} no such job; {-3, state} already over;
--          {-5, state} no cancel was requested
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, maxlen = ARGV[4], ARGV[5]
use_model(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
local job, refusal = held_job(KEYS[1], KEYS[3], job_id, entry_id, group, consumer)
if refusal then return refusal end
if not job.cr then return { WRONG_STATE, job.s } end
apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, maxlen, job, consumer)
return { OK }
