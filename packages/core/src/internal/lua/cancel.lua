-- cancel: a queued or delayed job is cancelled at once; a running one is flagged and appends
-- `cancelRequested`, and its worker confirms (see confirm-cancel and renew). Idempotent.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
--       (of the job's actor and lane)
-- ARGV: 1 job id, 2 group, 3 events max length, 4 actor, 5 lane
-- Returns: {1, 'cancelled'} | {1, 'cancelRequested'} | {-2} no such job | {-3, state} already over |
--          {-5, state} the keys given are not the job's
local job_id, group, maxlen, actor, lane = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
local job = load_job(KEYS[1], job_id)
if not job then return { NOT_FOUND } end
if is_terminal(job.s) then return { TERMINAL, job.s } end
-- A job's actor and lane never change: other keys here are a caller's bug, refused unchanged.
if job.a ~= actor or job.l ~= lane then return { WRONG_STATE, job.s } end
if job.s == 'active' then
  if not job.cr then
    job.cr = 1
    append_event(KEYS[2], maxlen, job, 'cancelRequested', now_ms(), nil, nil)
    save_job(KEYS[1], job)
  end
  return { OK, 'cancelRequested' }
end
if job.s == 'delayed' or job.s == 'retrying' then redis.call('ZREM', KEYS[4], job.id) end
-- A queued entry may already sit in a worker's pending list; the worker's start then finds it gone.
if job.x and redis.call('EXISTS', KEYS[3]) == 1 then
  pcall(redis.call, 'XACK', KEYS[3], group, job.x)
  redis.call('XDEL', KEYS[3], job.x)
end
job.x = nil
apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, maxlen, job, nil)
return { OK, 'cancelled' }
