import { HOP_BY_HOP, routeOf } from '@hotpath/core'
import type { Request, Response } from 'express'
import type { Captured } from './capture'
import { implicitTags, secondaryKey } from './key'
import { msOf, type RouteConfig } from './options'
import { isReplayable, surrogateKeys, type Verdict, varyFields } from './policy'
import type { CacheEntry, CacheStore, HeaderValue, VaryMarker } from './types'
import { wantsVariants } from './variants'

/** Where an entry goes: the key, the secondary key's fields, and how long the store keeps it. */
export interface Placement {
  readonly entry: CacheEntry
  readonly key: string
  readonly fields: readonly string[]
  readonly storeTtl: number
}

const MAX_TAGS = 64

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

async function userTags(route: RouteConfig, req: Request, res: Response): Promise<string[]> {
  if (route.tags === undefined) return []
  const value = typeof route.tags === 'function' ? await route.tags(req, res) : route.tags
  if (!Array.isArray(value)) return []
  return value.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 256)
}

/**
 * Turns a finished response into an entry: replayable headers only, lifetimes from the
 * route and bounded by the response's own `s-maxage` / `max-age`, tags from the route,
 * `Surrogate-Key` and the URL. Resolves `undefined` when the lifetime comes out as zero.
 */
export async function buildEntry(
  captured: Captured,
  verdict: Verdict & { store: true },
  req: Request,
  res: Response,
  route: RouteConfig,
  primary: string,
  front: boolean,
  variantMinBytes: number,
  now: number,
): Promise<Placement | undefined> {
  // Static options (the common case) resolve without a microtask.
  let ttl = typeof route.ttl === 'number' ? route.ttl : await msOf(route.ttl, req, res)
  if (verdict.maxAgeMs !== undefined) ttl = Math.min(ttl, verdict.maxAgeMs)
  if (!(ttl > 0)) return undefined
  const swr = typeof route.swr === 'number' ? route.swr : await msOf(route.swr, req, res)
  const sie = typeof route.sie === 'number' ? route.sie : await msOf(route.sie, req, res)
  const surrogate = captured.headers['surrogate-key']
  const tags = route.tags === undefined ? [] : await userTags(route, req, res)
  if (surrogate !== undefined) tags.push(...surrogateKeys(surrogate))
  const url = req.originalUrl ?? req.url
  const implicit = implicitTags(url)
  const allTags = tags.length === 0 ? implicit : [...new Set([...tags, ...implicit])].slice(0, MAX_TAGS)
  const headers: Array<readonly [string, HeaderValue]> = []
  for (const name of Object.keys(captured.headers)) {
    const value = captured.headers[name]
    if (value === undefined || !isReplayable(name, HOP_BY_HOP)) continue
    headers.push([name, typeof value === 'number' ? String(value) : value])
  }
  const identity = captured.headers['content-encoding'] === undefined
  // We negotiate the encoding ourselves for identity bodies, so Accept-Encoding is not a secondary key.
  const fields = varyFields(captured.headers.vary, route.vary).filter(
    (f) => !(identity && f === 'accept-encoding'),
  )
  const entry: Mutable<CacheEntry> = {
    kind: 'entry',
    status: captured.status,
    headers,
    body: captured.body,
    variants: {},
    storedAt: now,
    expiresAt: now + ttl,
    staleUntil: now + ttl + swr,
    errorUntil: now + ttl + sie,
    tags: allTags,
    route: routeOf(req),
    front,
    compress: false,
  }
  entry.compress = variantMinBytes > 0 && wantsVariants(entry, variantMinBytes)
  const key = fields.length === 0 ? primary : secondaryKey(primary, fields, req.headers)
  return { entry, key, fields, storeTtl: ttl + Math.max(swr, sie) }
}

/**
 * Writes an entry (and, for a response that varies, the marker at its primary key). A
 * synchronous store (memory) is written without a promise.
 */
export function storeEntry(store: CacheStore, primary: string, placement: Placement): void | Promise<void> {
  const { entry, key, fields, storeTtl } = placement
  if (fields.length === 0) return store.set(key, entry, storeTtl, entry.tags)
  const marker: VaryMarker = { kind: 'vary', fields, expiresAt: entry.errorUntil }
  const first = store.set(primary, marker, storeTtl, [])
  if (first instanceof Promise) return first.then(() => store.set(key, entry, storeTtl, entry.tags))
  return store.set(key, entry, storeTtl, entry.tags)
}
