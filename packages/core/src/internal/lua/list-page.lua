-- list-page: one page of a read-model list (an actor's jobs in one state), newest first, after a
-- cursor: order is (time desc, id desc), and the cursor is the last (time, id) already shown, so
-- a job that leaves the list between pages shifts nothing. A list is a sorted set scored by the
-- time, or for a finished state a stream whose entries are made at it (see lib/model.lua). Read-only.
-- KEYS: 1 list
-- ARGV: 1 cursor score ('' from the newest), 2 cursor id, 3 most to return
-- Returns: {id, score, id, score, ...}
local score, after, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- Ids compare byte by byte, as the sorted set orders them (Lua's `<` follows the server's locale).
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
-- Whether a job listed at `at` comes after the cursor (is not yet shown).
local function unseen(id, at)
  return score == '' or at < tonumber(score) or (at == tonumber(score) and before(id, after))
end

if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then
  if score == '' then
    return redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit, 'WITHSCORES')
  end
  -- Jobs sharing the cursor's score come first (id desc); those at or above the cursor's id were shown.
  local same = redis.call('ZCOUNT', KEYS[1], score, score)
  local page = redis.call('ZRANGE', KEYS[1], score, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, same + limit, 'WITHSCORES')
  local out = {}
  for i = 1, #page, 2 do
    if #out >= 2 * limit then break end
    if unseen(page[i], tonumber(page[i + 1])) then
      out[#out + 1] = page[i]
      out[#out + 1] = page[i + 1]
    end
  end
  return out
end

-- A stream holds a ms's entries in the order they were made: the page takes whole ms (the
-- cursor's, then up to `limit` entries older, then the rest of the last ms reached) and sorts
-- each by id.
local items = {}
local function take(entries)
  for _, entry in ipairs(entries) do
    local at = tonumber(string.match(entry[1], '^(%d+)'))
    if unseen(entry[2][2], at) then items[#items + 1] = { id = entry[2][2], at = at } end
  end
end
local top = '+'
if score ~= '' then
  take(redis.call('XRANGE', KEYS[1], score, score))
  top = '(' .. score .. '-0'
end
local older = redis.call('XREVRANGE', KEYS[1], top, '-', 'COUNT', limit)
take(older)
if #older == limit then
  local last = string.match(older[#older][1], '^(%d+)')
  take(redis.call('XRANGE', KEYS[1], last, '(' .. older[#older][1]))
end
table.sort(items, function(a, b)
  if a.at ~= b.at then return a.at > b.at end
  return before(b.id, a.id)
end)
local out = {}
for i = 1, math.min(limit, #items) do
  out[#out + 1] = items[i].id
  out[#out + 1] = items[i].at
end
return out
