-- reclaim: takes over deliveries idle longer than the lease (their worker died or hung), with
-- XAUTOCLAIM. Each taken job appends `stalled`; one delivered more than `max deliveries` times
-- is dead-lettered with reason `stalled` instead of run again. Entries whose job is gone or over
-- are cleaned; ids XAUTOCLAIM reports deleted are already gone from the pending list (Redis 7).
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 dead, 5 rates, 6 list queued, 7 list delayed, 8 list active, 9 list retrying, 10 list succeeded, 11 list deadLettered, 12 list cancelled
-- ARGV: 1 group, 2 consumer, 3 min idle ms, 4 count, 5 max deliveries, 6 events max length,
--       7 dead letters max length, 8 cursor
-- Returns: {next cursor, {entry id, job id, ...} to run now, dead-lettered count, deleted count,
--           cancelled count}. A job id of '' marks an entry without one (malformed).
local group, consumer, min_idle_ms, count, max_deliveries = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxlen, dead_maxlen, cursor = ARGV[6], ARGV[7], ARGV[8]
use_model(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
buffer_model()
local claimed = redis.call('XAUTOCLAIM', KEYS[3], group, consumer, min_idle_ms, cursor, 'COUNT', count)
local to_run, dead_count, cancelled = {}, 0, 0
for _, entry in ipairs(claimed[2]) do
  local entry_id, fields = entry[1], entry[2]
  local job_id = ''
  for i = 1, #fields, 2 do
    if fields[i] == 'j' then job_id = fields[i + 1] end
  end
  local job = job_id ~= '' and load_job(KEYS[1], job_id) or nil
  if job_id == '' then
    to_run[#to_run + 1] = entry_id
    to_run[#to_run + 1] = ''
  elseif not job or is_terminal(job.s) or job.x ~= entry_id then
    ack_delete(KEYS[3], group, entry_id)
  elseif job.cr then
    apply_cancel(KEYS[1], KEYS[2], KEYS[3], group, maxlen, job, consumer)
    cancelled = cancelled + 1
  else
    local _, deliveries = holder_of(KEYS[3], group, entry_id)
    append_event(KEYS[2], maxlen, job, 'stalled', now_ms(), consumer, '{"deliveries":' .. deliveries .. '}')
    if deliveries > tonumber(max_deliveries) then
      dead_letter(KEYS[1], KEYS[2], KEYS[3], group, KEYS[4], maxlen, dead_maxlen, job, 'stalled', nil, consumer)
      dead_count = dead_count + 1
    else
      -- XAUTOCLAIM handed the entry to this consumer: the record says so too (see `holds`).
      if job.s == 'active' then job.w = consumer end
      save_job(KEYS[1], job)
      to_run[#to_run + 1] = entry_id
      to_run[#to_run + 1] = job_id
    end
  end
end
local deleted = claimed[3] and #claimed[3] or 0
flush_model()
return { claimed[1], to_run, dead_count, deleted, cancelled }
