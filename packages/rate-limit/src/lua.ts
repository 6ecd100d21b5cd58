/**
 * One Lua script per algorithm, each a single round trip that reads, decides, writes and
 * sets the expiry atomically. The arithmetic mirrors `algorithms.ts` line for line.
 *
 * KEYS[1]: the record. ARGV: limit, windowMs, burst, cost, now.
 * `now` 0 means "use the Redis server clock" (`TIME`), so app hosts with skewed clocks
 * agree on window edges; Redis ≥ 5 replicates script effects, not the script, so reading
 * `TIME` before a write is allowed (`replicate_commands` is called for older servers).
 * Returns { allowed (0/1), remaining, resetMs, retryAfterMs }.
 * Every write sets a TTL in the same script, so no key can outlive its information.
 */

const PRELUDE = `
local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if now == 0 then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

const FIXED = `${PRELUDE}
local start = now - (now % w)
local s = redis.call('HMGET', KEYS[1], 'a', 'b')
local count = 0
if tonumber(s[1]) == start then count = tonumber(s[2]) end
local reset = start + w - now
if count + cost > limit then return {0, limit - count, reset, reset} end
if cost > 0 then
  if tonumber(s[1]) == start then
    redis.call('HINCRBY', KEYS[1], 'b', cost)
  else
    -- A new window's record. Its TTL is a whole window rather than \`reset\`: the record names
    -- its window, so a longer life is harmless, and a caller-supplied clock a little behind
    -- the server's cannot drop it early. Later writes in the window keep that TTL.
    redis.call('HSET', KEYS[1], 'a', start, 'b', cost)
    redis.call('PEXPIRE', KEYS[1], w)
  end
end
return {1, limit - count - cost, reset, 0}
`

const SLIDING = `${PRELUDE}
local start = now - (now % w)
local s = redis.call('HMGET', KEYS[1], 'a', 'b', 'c')
local a = tonumber(s[1])
local cur, prev = 0, 0
if a == start then
  cur = tonumber(s[2]); prev = tonumber(s[3])
elseif a == start - w then
  prev = tonumber(s[2])
end
local elapsed = now - start
local used = prev * (w - elapsed) + cur * w
-- Until the whole quota is back (slidingReset in algorithms.ts): this window's units count
-- until the end of the next one.
local function fullReset(c)
  if c > 0 then return 2 * w - elapsed end
  if prev > 0 then return w - elapsed end
  return 0
end
local reset = fullReset(cur + cost)
if used + cost * w > limit * w then
  reset = fullReset(cur)
  local retry
  local room = limit - cur - cost
  if room >= 0 and prev > 0 then
    retry = math.max(1, w - math.floor(room * w / prev) - elapsed)
  else
    local nextRoom = limit - cost
    if nextRoom < 0 then
      retry = 2 * w - elapsed
    else
      local inNext = 0
      if cur > 0 then inNext = w - math.floor(nextRoom * w / cur) end
      retry = math.max(1, w - elapsed + math.max(0, inNext))
    end
  end
  return {0, math.floor((limit * w - used) / w), reset, retry}
end
if cost > 0 then
  if a == start then
    redis.call('HINCRBY', KEYS[1], 'b', cost)
  else
    -- A new window: the record is useful until the end of the next one.
    redis.call('HSET', KEYS[1], 'a', start, 'b', cost, 'c', prev)
    redis.call('PEXPIRE', KEYS[1], start + 2 * w - now)
  end
end
return {1, math.floor((limit * w - used - cost * w) / w), reset, 0}
`

const TOKEN = `${PRELUDE}
local cap = burst * w
local s = redis.call('HMGET', KEYS[1], 'a', 'b')
local tokens = cap
if s[1] and s[2] then
  local elapsed = math.max(0, math.min(now - tonumber(s[1]), w * burst))
  tokens = math.min(cap, tonumber(s[2]) + elapsed * limit)
end
local need = cost * w
if tokens < need then
  return {0, math.floor(tokens / w), math.ceil((cap - tokens) / limit), math.ceil((need - tokens) / limit)}
end
tokens = tokens - need
local reset = math.ceil((cap - tokens) / limit)
if cost > 0 then
  redis.call('HSET', KEYS[1], 'a', now, 'b', string.format('%.17g', tokens))
  redis.call('PEXPIRE', KEYS[1], math.max(1, reset))
end
return {1, math.floor(tokens / w), reset, 0}
`

const GCRA = `${PRELUDE}
local eps = 1e-6
local interval = w / limit
local tol = burst * interval
local tat = now
local stored = tonumber(redis.call('HGET', KEYS[1], 'a'))
if stored and stored > now then tat = stored end
local nxt = tat + cost * interval
if nxt - now > tol + eps then
  local retry = math.max(1, math.ceil(nxt - tol - now - eps))
  return {0, math.floor((tol - (tat - now)) / interval + eps), math.ceil(tat - now), retry}
end
local reset = math.ceil(nxt - now - eps)
if cost > 0 then
  redis.call('HSET', KEYS[1], 'a', string.format('%.17g', nxt))
  redis.call('PEXPIRE', KEYS[1], math.max(1, reset))
end
return {1, math.floor((tol - (nxt - now)) / interval + eps), reset, 0}
`

/**
 * Refunds (skipFailedRequests / skipSuccessfulRequests), the REFUNDS of algorithms.ts: the
 * units come back only while they still count; the record's TTL is left as it is.
 */
const REFUND_WINDOW = `${PRELUDE}
local sliding = ARGV[6] == '1'
local start = now - (now % w)
local s = redis.call('HMGET', KEYS[1], 'a', 'b')
local a = tonumber(s[1])
if a == start or (sliding and a == start - w) then
  redis.call('HSET', KEYS[1], 'b', math.max(0, tonumber(s[2]) - cost))
  return 1
end
return 0
`

const REFUND_TOKEN = `${PRELUDE}
local s = redis.call('HMGET', KEYS[1], 'a', 'b')
if not s[2] then return 0 end
redis.call('HSET', KEYS[1], 'b', string.format('%.17g', math.min(burst * w, tonumber(s[2]) + cost * w)))
return 1
`

const REFUND_GCRA = `${PRELUDE}
local stored = tonumber(redis.call('HGET', KEYS[1], 'a'))
if not stored or stored <= now then return 0 end
redis.call('HSET', KEYS[1], 'a', string.format('%.17g', math.max(now, stored - cost * w / limit)))
return 1
`

export const REFUND_NAMES = {
  window: 'hotpathRateLimitRefundWindowV1',
  token: 'hotpathRateLimitRefundTokenV1',
  gcra: 'hotpathRateLimitRefundGcraV1',
} as const

/** Script names on the ioredis client; versioned so an upgrade never runs an old body. */
export const SCRIPT_NAMES = {
  'fixed-window': 'hotpathRateLimitFixedV2',
  'sliding-window': 'hotpathRateLimitSlidingV3',
  'token-bucket': 'hotpathRateLimitTokenV1',
  gcra: 'hotpathRateLimitGcraV1',
} as const

export const SCRIPTS: Record<string, { keys: number; lua: string }> = {
  [SCRIPT_NAMES['fixed-window']]: { keys: 1, lua: FIXED },
  [SCRIPT_NAMES['sliding-window']]: { keys: 1, lua: SLIDING },
  [SCRIPT_NAMES['token-bucket']]: { keys: 1, lua: TOKEN },
  [SCRIPT_NAMES.gcra]: { keys: 1, lua: GCRA },
  [REFUND_NAMES.window]: { keys: 1, lua: REFUND_WINDOW },
  [REFUND_NAMES.token]: { keys: 1, lua: REFUND_TOKEN },
  [REFUND_NAMES.gcra]: { keys: 1, lua: REFUND_GCRA },
}
