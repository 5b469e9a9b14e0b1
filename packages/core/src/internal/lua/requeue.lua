-- requeue: a dead-lettered job goes back to its inbox with a fresh attempt budget, appending
-- `requeued` (from `deadLetter`). Its dead letter is removed.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 dead, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 job id, 2 events max length, 3 actor, 4 lane
-- Returns: {1} requeued; {-2} no such job; {-5, state, actor, lane} not dead-lettered, or the
--          keys given are not the job's
local job_id, maxlen, actor, lane = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
local job = load_job(KEYS[1], job_id)
if not job then return { NOT_FOUND } end
if job.s ~= 'deadLettered' or job.a ~= actor or job.l ~= lane then return { WRONG_STATE, job.s, job.a, job.l } end
if job.dl then redis.call('XDEL', KEYS[4], job.dl) end
job.dl = nil
job.ft = nil
job.e = nil
job.r = nil
job.n = 1
enqueue(KEYS[3], job)
job.s = 'queued'
job.p = 0
job.w = nil
job.st = nil
append_event(KEYS[2], maxlen, job, 'requeued', now_ms(), nil, '{"from":"deadLetter"}')
save_job(KEYS[1], job)
return { OK }
