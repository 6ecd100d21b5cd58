import type { OutgoingHttpHeaders } from 'node:http'
import { formatHttpDate, HOP_BY_HOP, routeOf } from '@hotpath/core'
import type { Request, Response } from 'express'
import type { Captured } from './capture'
import { implicitTags, secondaryKey } from './key'
import { msOf, type RouteConfig } from './options'
import { connectionFields, isReplayable, surrogateKeys, type Verdict, varyFields } from './policy'
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
/** How long a stale entry with a validator is kept for revalidation, at least (and at most). */
const REVALIDATE_KEEP_MIN = 60_000
const REVALIDATE_KEEP_MAX = 86_400_000

/** The lifetimes of an entry (ms), from the route's mode and the response's own freshness. */
export interface Lifetimes {
  /** Freshness lifetime minus the age it arrived with; ≤ 0 when stored stale, for revalidation. */
  readonly left: number
  readonly swr: number
  readonly sie: number
  /** How long the store keeps it. */
  readonly keep: number
}

/**
 * RFC 9111 §4.2.1: the freshness lifetime is `s-maxage`, else `max-age`, else `Expires − Date`,
 * else heuristic. In `'ttl'` mode the route's `ttl` is the default and the cap; in `'origin'`
 * mode the response decides, up to `maxTtl`. `stale-while-revalidate` / `stale-if-error`
 * directives (RFC 5861) take the options as caps in `'ttl'` mode and `maxTtl` in `'origin'`
 * mode; `must-revalidate` and friends rule out serving stale at all. `undefined`: not stored.
 */
export async function lifetimesOf(
  verdict: Verdict & { store: true },
  route: RouteConfig,
  req: Request,
  res: Response,
  resolvedTtl?: number | Promise<number>,
): Promise<Lifetimes | undefined> {
  const f = verdict.fresh
  let lifetime: number
  if (route.freshness === 'origin') {
    lifetime = Math.min(f.explicit ?? f.heuristic ?? route.defaultTtl, route.maxTtl)
  } else {
    // Static options (the common case) resolve without a microtask.
    const ttl =
      typeof resolvedTtl === 'number'
        ? resolvedTtl
        : typeof route.ttl === 'number'
          ? route.ttl
          : await (resolvedTtl ?? msOf(route.ttl, req, res))
    if (!(ttl > 0)) return undefined
    lifetime = f.explicit === undefined ? ttl : Math.min(ttl, f.explicit)
  }
  if (f.noCache) lifetime = 0
  const left = lifetime - f.initialAge
  if (left <= 0 && !verdict.validators) return undefined
  const swrOption = typeof route.swr === 'number' ? route.swr : await msOf(route.swr, req, res)
  const sieOption = typeof route.sie === 'number' ? route.sie : await msOf(route.sie, req, res)
  const origin = route.freshness === 'origin'
  const pick = (directive: number | undefined, option: number) =>
    f.mustRevalidate
      ? 0
      : directive === undefined
        ? option
        : Math.min(directive, origin ? route.maxTtl : option)
  const swr = pick(f.swr, swrOption)
  const sie = pick(f.sie, sieOption)
  const revalidate = verdict.validators
    ? Math.min(Math.max(lifetime, REVALIDATE_KEEP_MIN), REVALIDATE_KEEP_MAX)
    : 0
  return { left, swr, sie, keep: Math.max(left, 0) + Math.max(swr, sie, revalidate) }
}

/** The stored fields of a response: replayable, not listed in `Connection`, not omitted; with a `Date`. */
export function storedHeaders(
  source: Readonly<OutgoingHttpHeaders>,
  omit: ReadonlySet<string>,
  now: number,
): Array<readonly [string, HeaderValue]> {
  const headers: Array<readonly [string, HeaderValue]> = []
  const listed = connectionFields(source.connection)
  for (const name of Object.keys(source)) {
    const value = source[name]
    if (value === undefined || !isReplayable(name, HOP_BY_HOP) || listed.has(name) || omit.has(name)) continue
    // A value another layer set as an object that becomes its text as the head is written
    // (cache-control's cookie-aware policy) is stored as that text.
    headers.push([
      name,
      Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value : String(value),
    ])
  }
  // RFC 9110 §6.6.1: a response stored without a Date gets the time it was received.
  if (source.date === undefined) headers.push(['date', formatHttpDate(now)])
  return headers
}

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
  resolvedTtl?: number | Promise<number>,
): Promise<Placement | undefined> {
  const life = await lifetimesOf(verdict, route, req, res, resolvedTtl)
  if (life === undefined) return undefined
  const surrogate = captured.headers['surrogate-key']
  const tags = route.tags === undefined ? [] : await userTags(route, req, res)
  if (surrogate !== undefined) tags.push(...surrogateKeys(surrogate))
  const url = req.originalUrl ?? req.url
  const implicit = implicitTags(url)
  const allTags = tags.length === 0 ? implicit : [...new Set([...tags, ...implicit])].slice(0, MAX_TAGS)
  const headers = storedHeaders(captured.headers, route.omit, now)
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
    expiresAt: now + life.left,
    staleUntil: now + life.left + life.swr,
    errorUntil: now + life.left + life.sie,
    tags: allTags,
    route: routeOf(req),
    front,
    compress: false,
    initialAge: verdict.fresh.initialAge,
    mustRevalidate: verdict.fresh.mustRevalidate,
  }
  entry.compress = variantMinBytes > 0 && wantsVariants(entry, variantMinBytes)
  const key = fields.length === 0 ? primary : secondaryKey(primary, fields, req.headers)
  return { entry, key, fields, storeTtl: life.keep }
}

/**
 * Writes an entry (and, for a response that varies, the marker at its primary key). A
 * synchronous store (memory) is written without a promise.
 */
export function storeEntry(
  store: CacheStore,
  primary: string,
  placement: Placement,
  since?: number,
): void | Promise<void> {
  const { entry, key, fields, storeTtl } = placement
  // `since`: when the miss began; a shared store refuses the entry if a tag was invalidated after.
  if (fields.length === 0) return store.set(key, entry, storeTtl, entry.tags, since)
  const marker: VaryMarker = { kind: 'vary', fields, expiresAt: entry.storedAt + storeTtl }
  const first = store.set(primary, marker, storeTtl, [])
  if (first instanceof Promise) return first.then(() => store.set(key, entry, storeTtl, entry.tags, since))
  return store.set(key, entry, storeTtl, entry.tags, since)
}
