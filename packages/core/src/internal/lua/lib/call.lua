-- call.lua (prelude, last): what each call starts from.

-- Every script runs as a function of one library (see Scripts.ts), whose top level runs once at
-- load: the state above lives on between calls, so each call starts by resetting what is per
-- call. The caches (small_texts, the rate minute and the id prefix) are keyed by what they hold.
local function begin_call()
  cached_now = nil
  projected, listed_at = {}, {}
  model = nil
  buffered, saved = false, {}
  moves, move_order, rate_adds, trims = {}, {}, {}, {}
  rebuilding, unlisted = false, 0
end
