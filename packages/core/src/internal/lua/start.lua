-- start: marks a delivery as running and appends `started`. Fenced: only the consumer holding
-- the entry may start it. Entries whose job is gone or over are cleaned from the inbox.
-- KEYS: 1 jobs, 2 events, 3 inbox
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 events max length
-- Returns: {1, input, attempt, max attempts, correlation id, causation id} started;
--          {-1} not held by this consumer; {-2} no such job (entry cleaned);
--          {-3, state} job already over (entry cleaned); {-5, state} stale entry (cleaned);
--          {-4} cancel requested: the caller confirms the cancel
local job = load_job(KEYS[1], ARGV[1])
if holder_of(KEYS[3], ARGV[3], ARGV[2]) ~= ARGV[4] then return { LOST } end
if not job then
  ack_delete(KEYS[3], ARGV[3], ARGV[2])
  return { NOT_FOUND }
end
if is_terminal(job.s) then
  ack_delete(KEYS[3], ARGV[3], ARGV[2])
  return { TERMINAL, job.s }
end
if job.x ~= ARGV[2] then
  ack_delete(KEYS[3], ARGV[3], ARGV[2])
  return { WRONG_STATE, job.s }
end
if job.cr then return { CANCEL_REQUESTED } end

local now = now_ms()
job.s = 'active'
job.st = now
job.w = ARGV[4]
append_event(KEYS[2], ARGV[5], job, 'started', now, ARGV[4], nil)
save_job(KEYS[1], job)
return { OK, job.i, job.n, job.m, job.c or '', job.k or '' }
