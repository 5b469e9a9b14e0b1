-- list-page: one page of a read-model list (an actor's jobs in one state), newest first, after a
-- cursor: order is (score desc, id desc), and the cursor is the last (score, id) already shown, so
-- a job that leaves the list between pages shifts nothing. Read-only.
-- KEYS: 1 list
-- ARGV: 1 cursor score ('' from the newest), 2 cursor id, 3 most to return
-- Returns: {id, score, id, score, ...}
local score, after, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
if score == '' then
  return redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit, 'WITHSCORES')
end
-- Jobs sharing the cursor's score come first (id desc); those at or above the cursor's id were shown.
-- Ids compare byte by byte, as the sorted set orders them (Lua's `<` follows the server's locale).
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local at = tonumber(score)
local same = redis.call('ZCOUNT', KEYS[1], score, score)
local page = redis.call('ZRANGE', KEYS[1], score, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, same + limit, 'WITHSCORES')
local out = {}
for i = 1, #page, 2 do
  if #out >= 2 * limit then break end
  if tonumber(page[i + 1]) ~= at or before(page[i], after) then
    out[#out + 1] = page[i]
    out[#out + 1] = page[i + 1]
  end
end
return out
