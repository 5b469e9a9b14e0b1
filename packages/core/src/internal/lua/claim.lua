-- claim: reads new deliveries of one actor's inboxes in one partition for this consumer, high
-- lane first, and starts each (as `start` does), in one call: a worker with a backlog gets
-- running jobs in one round trip instead of a read and then a start. (XREADGROUP without BLOCK
-- is allowed in a script; a worker falls back to a blocking read when this finds nothing.)
-- A paused actor's inboxes are not read.
-- KEYS: 1 jobs, 2 events, 3 high inbox, 4 normal inbox, 5 low inbox, 6 paused, 7 rates, 8 list queued, 9 list delayed, 10 list active, 11 list retrying, 12 list succeeded, 13 list deadLettered, 14 list cancelled
-- ARGV: 1 group, 2 consumer, 3 events max length, 4 most to claim, 5 actor
-- Returns: one {lane, entry id, job id, then the values of start's reply} per entry read, lane 1 high .. 3 low;
--          an entry that names no job has job id '' and no start reply (the worker dead-letters it);
--          nothing when the actor is paused
local group, consumer, maxlen, count, actor = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
use_model(KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14])
if redis.call('SISMEMBER', KEYS[6], actor) == 1 then return {} end
buffer_model()
local claimed = claim_jobs(KEYS[1], KEYS[2], { KEYS[3], KEYS[4], KEYS[5] }, group, consumer, maxlen, count)
flush_model()
return claimed
