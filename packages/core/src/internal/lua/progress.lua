-- progress: a running job reports how far it is, appending `progress`. Fenced.
-- KEYS: 1 jobs, 2 events, 3 inbox
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 fraction (0..1), 6 event data (JSON object),
--       7 events max length
-- Returns: {1} recorded; {-1} not held (or the job is gone or over); {-4} cancel requested
local job_id, entry_id, group = ARGV[1], ARGV[2], ARGV[3]
local consumer, fraction, data, maxlen = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local job = load_job(KEYS[1], job_id)
if not job or is_terminal(job.s) or not holds(KEYS[3], group, consumer, job, entry_id) then return { LOST } end
job.p = tonumber(fraction)
append_event(KEYS[2], maxlen, job, 'progress', now_ms(), consumer, data)
save_job(KEYS[1], job)
if job.cr then return { CANCEL_REQUESTED } end
return { OK }
