-- complete-many: `complete` for several jobs of one inbox in one call (a worker records the
-- results that finished together at once), and optionally `claim` of the actor's next jobs in
-- the same call, so a busy worker's Redis round trips overlap its work instead of alternating.
-- Each job is fenced and answered on its own.
-- KEYS: 1 jobs, 2 events, 3 inbox, 4 rates, 5 list queued, 6 list delayed, 7 list active, 8 list retrying, 9 list succeeded, 10 list deadLettered, 11 list cancelled, 12 high inbox, 13 normal inbox, 14 low inbox, 15 paused
-- ARGV: 1 group, 2 consumer, 3 events max length, 4 most to claim after (0: none), 5 actor,
--       then triples: job id, entry id, output (JSON text)
-- Returns: {replies, claimed}: one reply per triple, in order, each as `complete` answers it; then
--          what `claim` answers for the actor (empty when 0 was asked or the actor is paused)
local group, consumer, maxlen = ARGV[1], ARGV[2], ARGV[3]
local claim_count, actor = tonumber(ARGV[4]), ARGV[5]
use_model(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
buffer_model()
local replies = {}
local acks = {}
for i = 6, #ARGV, 3 do
  replies[#replies + 1] = complete_job(KEYS[1], KEYS[2], KEYS[3], group, consumer, maxlen,
    ARGV[i], ARGV[i + 1], ARGV[i + 2], acks)
end
-- The completed entries leave the inbox together: one XACK, then one XTRIM and / or one XDEL.
if #acks > 0 then
  call_spread('XACK', KEYS[3], acks, group)
  delete_acknowledged(KEYS[3], group, acks)
end
local claimed = {}
if claim_count > 0 and redis.call('SISMEMBER', KEYS[15], actor) == 0 then
  claimed = claim_jobs(KEYS[1], KEYS[2], { KEYS[12], KEYS[13], KEYS[14] }, group, consumer, maxlen, claim_count)
end
flush_model()
return { replies, claimed }
