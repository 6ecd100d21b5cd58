/**
 * The cache's scripts, loaded through core's `defineScripts` (EVALSHA with an EVAL fallback,
 * so they survive SCRIPT FLUSH and failover). Each touches keys of one `{hash tag}` only, so
 * they run on Redis Cluster; PUBLISH inside a script reaches every node's subscribers.
 */
export const SCRIPTS = {
  // KEYS: entry, lease. ARGV: owner, lease ttl ms, '1' = lease only.
  // The value if there is one; else the lease if free: one round trip for a miss.
  hotpathCacheAcquire: {
    keys: 2,
    lua: `if ARGV[3] ~= '1' then
  local v = redis.call('GET', KEYS[1])
  if v then return {v, 0} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'', 1} end
return {'', 0}`,
  },
  // KEYS: entry, lease. ARGV: value ('' = none), ttl ms, owner, channel, message.
  // Writes the value, frees the lease only if still ours, and wakes the waiters.
  hotpathCacheRelease: {
    keys: 2,
    lua: `if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
  },
  // KEYS: tag hash. ARGV: field, channel, message head (the version and '}' are appended).
  hotpathCacheBumpTag: {
    keys: 1,
    lua: `local v = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PUBLISH', ARGV[2], ARGV[3] .. v .. '}')
return v`,
  },
} as const
