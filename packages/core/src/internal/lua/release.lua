-- release: hands a running job back to its inbox at once (graceful shutdown); the attempt is
-- not counted. Fenced.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 expiries, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length, 6 retention ms
-- Returns: {1} released; {-1} not held; {-2} no such job; {-3, state} already over;
--          {-4} a cancel was requested: cancelled instead
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, maxlen, retention_ms = ARGV[4], ARGV[5], ARGV[6]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
local job, refusal = held_job(KEYS[1], KEYS[3], job_id, entry_id, group, consumer)
if refusal then return refusal end
if job.cr then
  apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, KEYS[4], maxlen, tonumber(retention_ms), job, consumer)
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
