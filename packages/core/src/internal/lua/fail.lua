-- fail: a running attempt failed. Schedules the next attempt (in the delayed set, due after the
-- given delay) while attempts remain and the error is retryable; otherwise dead-letters.
-- Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed, 5 dead, 6 rates, 7 list queued, 8 list delayed, 9 list active, 10 list retrying, 11 list succeeded, 12 list deadLettered, 13 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 error (JSON {tag, message, data?}),
--       6 retryable (1 or 0), 7 retry delay ms, 8 events max length, 9 dead letters max length,
--       10 dead-letter reason when not retryable
-- Returns: {1, 'retrying', retry at} | {1, 'deadLettered', reason} | {-1} not held |
--          {-2} no such job | {-3, state} already over | {-4} cancel requested: cancelled instead
local job_id, entry_id, group, consumer, error_json, retryable_flag = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local retry_delay_ms, maxlen, dead_maxlen, final_reason = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
use_model(KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13])
local job, refusal = held_job(KEYS[1], KEYS[3], job_id, entry_id, group, consumer)
if refusal then return refusal end
if job.cr then
  apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, maxlen, job, consumer)
  return { CANCEL_REQUESTED }
end

local now = now_ms()
local retryable = retryable_flag == '1'
if retryable and job.n < job.m then
  ack_delete(KEYS[3], group, entry_id)
  local retry_at = now + tonumber(retry_delay_ms)
  append_event(KEYS[2], maxlen, job, 'failed', now, consumer,
    '{"error":' .. error_json .. ',"willRetry":true,"retryAt":' .. retry_at .. '}')
  job.e = error_json
  job.s = 'retrying'
  job.x = nil
  job.due = retry_at
  job.n = job.n + 1
  -- The next attempt starts from nothing: no progress, no worker yet.
  job.p = 0
  job.w = nil
  job.st = nil
  redis.call('ZADD', KEYS[4], retry_at, job.id)
  save_job(KEYS[1], job)
  return { OK, 'retrying', retry_at }
end

local reason = retryable and 'attemptsExhausted' or final_reason
append_event(KEYS[2], maxlen, job, 'failed', now, consumer, '{"error":' .. error_json .. ',"willRetry":false}')
dead_letter(KEYS[1], KEYS[2], KEYS[3], group, KEYS[5], maxlen, dead_maxlen, job, reason, error_json, consumer)
return { OK, 'deadLettered', reason }
