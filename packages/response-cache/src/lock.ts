import type { CacheStore } from './types'

/**
 * The cross-instance miss lock, as a lease. The holder takes it for `lease` ms (not for the
 * whole `lockTtl`) and renews it while its handler runs, so a lock whose holder is gone — its
 * release failed (circuit open, deadline), or a `SET NX PX` timed out here but ran in Redis
 * later — is gone within one lease, and a waiter that sees no lock stops polling for an
 * entry nobody produces.
 */
export interface Lease {
  readonly lease: number
  /** Renews `token`'s lock on `key` until the returned stop is called or `maxMs` passed. */
  hold(key: string, token: string): () => void
  /** Whether the lock of `key` is still held; `true` when the store cannot tell. */
  alive(key: string): Promise<boolean>
}

const MIN_LEASE_MS = 200

export function createLease(store: CacheStore, lockTtl: number): Lease {
  const deadline = (store as { commandTimeout?: unknown }).commandTimeout
  // Two deadlines: a renewal that takes one whole deadline still lands before the lease ends.
  const base = typeof deadline === 'number' && deadline > 0 ? 2 * deadline : 500
  const lease = Math.min(lockTtl, Math.max(MIN_LEASE_MS, base))
  const renewEvery = Math.max(25, Math.floor(lease / 4))
  return {
    lease,
    hold(key, token) {
      const renew = store.renew
      if (renew === undefined) return () => undefined
      const started = Date.now()
      let stopped = false
      const timer = setInterval(() => {
        if (stopped) return
        if (Date.now() - started >= lockTtl) {
          stop()
          return
        }
        Promise.resolve(renew.call(store, key, token, lease)).then(
          (ours) => {
            if (!ours) stop()
          },
          () => undefined,
        )
      }, renewEvery)
      timer.unref()
      function stop(): void {
        stopped = true
        clearInterval(timer)
      }
      return stop
    },
    async alive(key) {
      if (store.locked === undefined) return true
      try {
        return await store.locked(key)
      } catch {
        // The store cannot tell now: keep waiting (bounded by the poll count).
        return true
      }
    },
  }
}
