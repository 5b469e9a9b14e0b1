-- renew: extends the leases of many running jobs of one inbox by resetting their idle time.
-- Fenced: a lease is renewed only where this consumer still holds the job's current entry.
-- KEYS: 1 jobs, 2 inbox
-- ARGV: 1 group, 2 consumer, then pairs: entry id, job id
-- Returns: one code per pair: 1 renewed; -1 lost (not held, or the job is gone or over);
--          -4 cancel requested (renewed, so nobody reclaims it while the worker confirms)
local group, consumer = ARGV[1], ARGV[2]
local codes = {}
for i = 3, #ARGV, 2 do
  local entry, id = ARGV[i], ARGV[i + 1]
  local job = load_job(KEYS[1], id)
  if not job or is_terminal(job.s) or not holds(KEYS[2], group, consumer, job, entry) then
    codes[#codes + 1] = LOST
  else
    redis.call('XCLAIM', KEYS[2], group, consumer, 0, entry, 'JUSTID')
    codes[#codes + 1] = job.cr and CANCEL_REQUESTED or OK
  end
end
return codes
