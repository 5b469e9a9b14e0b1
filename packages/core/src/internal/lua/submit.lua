-- submit: creates a job, queued in its inbox or waiting in the delayed set, and appends
-- `submitted`. Idempotent: an existing job id returns the existing job and writes nothing.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 delayed
-- ARGV: 1 job id, 2 actor, 3 lane, 4 input (JSON text), 5 max attempts, 6 delay ms (0: none),
--       7 correlation id ('' none), 8 causation id ('' none), 9 events max length
-- Returns: {1, state} created; {2, state} duplicate (nothing written)
local existing = load_job(KEYS[1], ARGV[1])
if existing then return { DUPLICATE, existing.s } end

local now = now_ms()
local job = { id = ARGV[1], a = ARGV[2], l = ARGV[3], n = 1, m = tonumber(ARGV[5]), i = ARGV[4], t = now }
if ARGV[7] ~= '' then job.c = ARGV[7] end
if ARGV[8] ~= '' then job.k = ARGV[8] end

local data = '{"input":' .. ARGV[4] .. ',"lane":"' .. ARGV[3] .. '","maxAttempts":' .. ARGV[5]
local delay = tonumber(ARGV[6])
if delay > 0 then
  job.s = 'delayed'
  job.due = now + delay
  redis.call('ZADD', KEYS[4], job.due, job.id)
  data = data .. ',"delayUntil":' .. job.due
else
  job.s = 'queued'
  enqueue(KEYS[3], job)
end
append_event(KEYS[2], ARGV[9], job, 'submitted', now, nil, data .. '}')
save_job(KEYS[1], job)
return { OK, job.s }
