-- release: hands a running job back to its inbox at once (graceful shutdown); the attempt is
-- not counted. Fenced.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 rates, 5 list queued, 6 list delayed, 7 list active, 8 list retrying, 9 list succeeded, 10 list deadLettered, 11 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length
-- Returns: {1} released; {-1} not held; {-2} no such job; {-3, state} already over;
--          {-4} a cancel was requested: cancelled instead
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, maxlen = ARGV[4], ARGV[5]
use_model(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
local job, refusal = held_job(KEYS[1], KEYS[3], job_id, entry_id, group, consumer)
if refusal then return refusal end
if job.cr then
  apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, maxlen, job, consumer)
  return { CANCEL_REQUESTED }
end

ack_delete(KEYS[3], group, entry_id)
enqueue(KEYS[3], job)
job.s = 'queued'
job.p = 0
job.w = nil
job.st = nil
append_event(KEYS[2], maxlen, job, 'released', now_ms(), consumer, nil)
save_job(KEYS[1], job)
return { OK }
