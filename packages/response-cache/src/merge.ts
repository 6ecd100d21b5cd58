import type { OutgoingHttpHeaders } from 'node:http'
import type { Engine } from './engine'
import { type Lifetimes, lifetimesOf, storedHeaders, storeEntry } from './entry'
import type { Ctx } from './flow'
import { responseVerdict, varyFields } from './policy'
import type { CacheEntry, HeaderValue } from './types'

function field(entry: CacheEntry, name: string): string | undefined {
  for (const [key, value] of entry.headers)
    if (key === name) return Array.isArray(value) ? value[0] : String(value)
  return undefined
}

/** The stored validators of an entry (RFC 9111 §4.3.1). */
export function validatorsOf(entry: CacheEntry): { etag?: string; lastModified?: string } {
  return { etag: field(entry, 'etag'), lastModified: field(entry, 'last-modified') }
}

/**
 * RFC 9111 §3.2 / §4.3.4: a 304 updates the stored header fields (every field it carries
 * replaces the stored one, except those never stored and `Content-Length`, which describes
 * the stored body) and the entry's freshness starts again from the 304's `Date` and `Age`.
 */
export function mergeHeaders(
  entry: CacheEntry,
  notModified: OutgoingHttpHeaders,
  omit: ReadonlySet<string>,
  now: number,
): Array<readonly [string, HeaderValue]> {
  const updates = storedHeaders(notModified, omit, now)
  const merged = new Map<string, HeaderValue>(entry.headers)
  // A 304 without a Date keeps none of the old one: the time of this validation replaces it.
  for (const [name, value] of updates) merged.set(name, value)
  return [...merged]
}

function asObject(headers: ReadonlyArray<readonly [string, HeaderValue]>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of headers) out[name] = value as string | string[]
  return out
}

/**
 * The entry refreshed by a 304, stored in the background (under its key, with its Vary
 * marker); resolves the refreshed entry for the client. Never rejects: a store failure is
 * counted, and a 304 that makes the response unstorable removes the entry but is still served.
 */
export async function revalidated(
  engine: Engine,
  ctx: Ctx,
  entry: CacheEntry,
  key: string,
  notModified: OutgoingHttpHeaders,
): Promise<CacheEntry> {
  const { route, req, res, primary } = ctx
  const store = engine.cfg.store
  const at = engine.cfg.now()
  const headers = mergeHeaders(entry, notModified, route.omit, at)
  const merged = asObject(headers)
  // Freshness starts from the 304's own Date and Age (a Date it lacks is not invented here).
  const verdict = responseVerdict(
    entry.status,
    { ...merged, age: notModified.age, date: notModified.date },
    route,
    at,
  )
  let life: Lifetimes | undefined
  try {
    life = verdict.store ? await lifetimesOf(verdict, route, req, res) : undefined
  } catch {
    life = undefined
  }
  const base = { ...entry, headers, storedAt: at }
  if (life === undefined || !verdict.store) {
    Promise.resolve(store.delete(key)).catch((error: unknown) => engine.storeError(error, req))
    return { ...base, expiresAt: at, staleUntil: at, errorUntil: at, initialAge: 0 }
  }
  const fresh: CacheEntry = {
    ...base,
    expiresAt: at + life.left,
    staleUntil: at + life.left + life.swr,
    errorUntil: at + life.left + life.sie,
    initialAge: verdict.fresh.initialAge,
    mustRevalidate: verdict.fresh.mustRevalidate,
  }
  const identity = merged['content-encoding'] === undefined
  const fields = varyFields(merged.vary, route.vary).filter((f) => !(identity && f === 'accept-encoding'))
  // The body is the one stored at entry.storedAt: an invalidation since then must not be undone.
  if (engine.invalidations.invalidatedSince(fresh.tags, entry.storedAt)) return fresh
  try {
    const pending = storeEntry(
      store,
      primary,
      { entry: fresh, key: fields.length === 0 ? primary : key, fields, storeTtl: life.keep },
      entry.storedAt,
    )
    if (pending instanceof Promise) await pending
    engine.counters.stores++
    engine.storeOk()
  } catch (error) {
    engine.storeError(error, req)
  }
  return fresh
}
