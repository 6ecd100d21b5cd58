import { createHash, randomBytes } from 'node:crypto'

export interface Sessions {
  /** Starts a session and returns the id for the cookie. */
  create(): string
  has(id: string): boolean
  delete(id: string): void
  readonly size: number
}

/**
 * Sign-in sessions of one dashboard instance: random 256-bit ids, held hashed (a heap dump does
 * not yield a usable cookie) in a Map bounded by `max`. Every session lives `ttlMs`, so insertion
 * order is expiry order: expired ones are dropped from the front, no timer needed.
 */
export function createSessions(ttlMs: number, max: number, now: () => number): Sessions {
  const expiries = new Map<string, number>()
  const digest = (id: string) => createHash('sha256').update(id).digest('base64url')

  const sweep = (at: number) => {
    for (const [key, expires] of expiries) {
      if (expires > at) break
      expiries.delete(key)
    }
  }

  return {
    create() {
      const at = now()
      sweep(at)
      while (expiries.size >= max) {
        const oldest = expiries.keys().next().value as string
        expiries.delete(oldest)
      }
      const id = randomBytes(32).toString('base64url')
      expiries.set(digest(id), at + ttlMs)
      return id
    },
    has(id) {
      const key = digest(id)
      const expires = expiries.get(key)
      if (expires === undefined) return false
      if (expires > now()) return true
      expiries.delete(key)
      return false
    },
    delete(id) {
      expiries.delete(digest(id))
    },
    get size() {
      return expiries.size
    },
  }
}

/** The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() !== name) continue
    const value = part.slice(eq + 1).trim()
    return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined
  }
  return undefined
}
