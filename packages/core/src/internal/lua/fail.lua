-- fail: a running attempt failed. Schedules the next attempt (in the delayed set, due after the
-- given delay) while attempts remain and the error is retryable; otherwise dead-letters.
-- Fenced; applied at most once.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed, 5 dead, 6 expiries, 7 rates, 8 list queued, 9 list delayed, 10 list active, 11 list retrying, 12 list succeeded, 13 list deadLettered, 14 list cancelled
-- ARGV: 1 job id, 2 entry id, 3 group, 4 consumer, 5 error (JSON {tag, message, data?}),
--       6 retryable (1 or 0), 7 retry delay ms, 8 events max length, 9 dead-letter retention ms,
--       10 dead letters max length, 11 dead-letter reason when not retryable,
--       12 retention ms (of a job that ends cancelled)
-- Returns: {1, 'retrying', retry at} | {1, 'deadLettered', reason} | {-1} not held |
--          {-2} no such job | {-3, state} already over | {-4} cancel requested: cancelled instead
local job_id, entry_id, group, consumer, error_json, retryable_flag = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local retry_delay_ms, maxlen, dead_retention_ms, dead_maxlen, final_reason, retention_ms = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
use_model(KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14])
local job, refusal = held_job(KEYS[1], KEYS[3], job_id, entry_id, group, consumer)
if refusal then return refusal end
local retention = tonumber(dead_retention_ms)
if job.cr then
  apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, KEYS[6], maxlen, tonumber(retention_ms), job, consumer)
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
dead_letter(KEYS[1], KEYS[2], KEYS[3], group, KEYS[5], KEYS[6], maxlen, dead_maxlen, retention, job, reason, error_json, consumer)
return { OK, 'deadLettered', reason }
