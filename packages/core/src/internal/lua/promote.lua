-- promote: moves due delayed jobs and due retries of one inbox back into it, appending
-- `requeued`. Safe to run on every worker at once: each due id is taken by exactly one call.
-- KEYS: 1 delayed, 2 inbox, 3 jobs, 4 events, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 most to move, 2 events max length
-- Returns: {moved count, ms until the next due job (-1: none)}
local limit, maxlen = ARGV[1], ARGV[2]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
buffer_model()
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(limit))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job = load_job(KEYS[3], id)
  if job and (job.s == 'delayed' or job.s == 'retrying') then
    local from = job.s == 'delayed' and 'delayed' or 'retry'
    job.s = 'queued'
    job.due = nil
    enqueue(KEYS[2], job)
    append_event(KEYS[4], maxlen, job, 'requeued', now, nil, '{"from":"' .. from .. '"}')
    save_job(KEYS[3], job)
    moved = moved + 1
  end
end
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if next_due[2] then wait = math.max(0, tonumber(next_due[2]) - now) end
flush_model()
return { moved, wait }
