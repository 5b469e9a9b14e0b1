-- dead-letter-entry: an inbox entry that names no job (written by hand, by an old version or
-- another language) is moved to the actor's dead letters with its raw fields, appending
-- `deadLettered` (reason `malformed`) for a pseudo job `entry-<entry id>`, which has no record:
-- it counts in the outcomes per minute, in no list. Fenced.
-- KEYS: 1 inbox, 2 dead, 3 events, 4 rates
-- ARGV: 1 entry id, 2 group, 3 consumer, 4 actor, 5 detail, 6 events max length,
--       7 dead letters max length
-- Returns: {1} moved; {-1} not held by this consumer
local entry_id, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local actor, detail, maxlen, dead_maxlen = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if holder_of(KEYS[1], group, entry_id) ~= consumer then return { LOST } end
model = { rates = KEYS[4], lists = {} }
local raw = redis.call('XRANGE', KEYS[1], entry_id, entry_id)
local fields = raw[1] and raw[1][2] or {}
ack_delete(KEYS[1], group, entry_id)
local now = now_ms()
local job = { id = 'entry-' .. entry_id, a = actor, n = 0, pseudo = true }
local error_json = cjson.encode({ tag = 'Malformed', message = detail, data = { fields = fields } })
redis.call('XADD', KEYS[2], 'MAXLEN', '~', dead_maxlen, '*', 'j', job.id, 'reason', 'malformed', 'n', '0',
  'at', tostring(now), 'error', error_json)
append_event(KEYS[3], maxlen, job, 'deadLettered', now, consumer,
  '{"reason":"malformed","error":' .. error_json .. '}')
return { OK }
