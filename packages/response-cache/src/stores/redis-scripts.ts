/**
 * The Lua scripts of the Redis store (each through `defineCommand`, so they survive
 * `SCRIPT FLUSH`, restarts and failover) and how its replies are told apart.
 */

export interface Scripts {
  hotpathCacheTagAdd(key: string, member: string, ttlMs: number): Promise<number>
  hotpathCacheTagAddSince(
    key: string,
    gen: string,
    member: string,
    ttlMs: number,
    since: number,
  ): Promise<number>
  hotpathCacheUnlock(key: string, token: string): Promise<number>
  hotpathCacheRenew(key: string, token: string, ttlMs: number): Promise<number>
}

/** Adds a key to a tag set and stretches the set's expiry to cover it (never shortens it). */
export const TAG_ADD = `redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`

/** Stretches a lock's lease only if it is still ours (the holder is alive and still working). */
export const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

/**
 * `TAG_ADD` for an entry from a miss that began at ARGV[3]: refused (0) when its tag was
 * invalidated after that (the generation KEYS[2], written by `deleteTag` before it reads the
 * members), so an invalidation by any instance is never undone by an older answer.
 */
export const TAG_ADD_SINCE = `local g = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if g > tonumber(ARGV[3]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`

/** How long a tag's invalidation generation is kept: longer than any miss runs. */
export const GENERATION_MS = 60_000

/** Releases a lock only if it is still ours. */
export const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

export function isGarbage(error: unknown): boolean {
  return error instanceof Error && /^(WRONGTYPE|ERR .*(not an integer|wrong kind|syntax))/.test(error.message)
}

/**
 * A reply that Redis gave (an `OOM` under `maxmemory noeviction`, `WRONGTYPE`, `NOSCRIPT`…):
 * the server is up and answering, so the circuit stays closed and reads and deletes go on.
 * Replies that mean it cannot serve now (loading, busy script, cluster down, failover) are
 * outages like a timeout.
 */
export function isAnswer(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ReplyError' &&
    !/^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS)\b/.test(error.message)
  )
}

/** The scripts as `defineScripts` takes them. */
export const SCRIPTS = {
  hotpathCacheTagAdd: { keys: 1, lua: TAG_ADD },
  hotpathCacheTagAddSince: { keys: 2, lua: TAG_ADD_SINCE },
  hotpathCacheUnlock: { keys: 1, lua: UNLOCK },
  hotpathCacheRenew: { keys: 1, lua: RENEW },
}
