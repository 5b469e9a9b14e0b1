-- complete: a running job succeeded. Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 expiries
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 output (JSON text), 6 events max length,
--       7 retention ms
-- Returns: {1} succeeded; {-1} not held by this consumer (nothing changed); {-2} no such job;
--          {-3, state} already over (nothing changed); {-4} a cancel was requested: cancelled instead
local job, refusal = held_job(KEYS[1], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if refusal then return refusal end
if job.cr then
  apply_cancel(KEYS[1], KEYS[2], KEYS[3], ARGV[3], KEYS[4], ARGV[6], tonumber(ARGV[7]), job, ARGV[4])
  return { CANCEL_REQUESTED }
end

ack_delete(KEYS[3], ARGV[3], ARGV[2])
local now = now_ms()
job.o = ARGV[5]
job.p = 1
finish(KEYS[4], job, 'succeeded', now, tonumber(ARGV[7]))
append_event(KEYS[2], ARGV[6], job, 'succeeded', now, ARGV[4], '{"output":' .. ARGV[5] .. '}')
save_job(KEYS[1], job)
return { OK }
