import type { OutgoingHttpHeaders } from 'node:http'
import { formatHttpDate, HOP_BY_HOP, routeOf } from '@hotpath/core'
import type { Request, Response } from 'express'
import type { Captured } from './capture'
import { implicitTags, secondaryKey } from './key'
import { then } from './maybe'
import { msOf, type RouteConfig } from './options'
import { connectionFields, isReplayable, surrogateKeys, type Verdict, varyFields } from './policy'
import type { CacheEntry, CacheStore, HeaderValue, MaybePromise, VaryMarker } from './types'
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
 * Static options (the common case) resolve without a promise.
 */
export function lifetimesOf(
  verdict: Verdict & { store: true },
  route: RouteConfig,
  req: Request,
  res: Response,
  resolvedTtl?: number | Promise<number>,
): MaybePromise<Lifetimes | undefined> {
  const f = verdict.fresh
  if (route.freshness === 'origin') {
    return lifetimesFrom(
      verdict,
      route,
      req,
      res,
      Math.min(f.explicit ?? f.heuristic ?? route.defaultTtl, route.maxTtl),
    )
  }
  const ttl =
    typeof resolvedTtl === 'number'
      ? resolvedTtl
      : typeof route.ttl === 'number'
        ? route.ttl
        : (resolvedTtl ?? msOf(route.ttl, req, res))
  return then(ttl, (t) =>
    t > 0
      ? lifetimesFrom(verdict, route, req, res, f.explicit === undefined ? t : Math.min(t, f.explicit))
      : undefined,
  )
}

function lifetimesFrom(
  verdict: Verdict & { store: true },
  route: RouteConfig,
  req: Request,
  res: Response,
  lifetime: number,
): MaybePromise<Lifetimes | undefined> {
  const f = verdict.fresh
  if (f.noCache) lifetime = 0
  const left = lifetime - f.initialAge
  if (left <= 0 && !verdict.validators) return undefined
  const origin = route.freshness === 'origin'
  const pick = (directive: number | undefined, option: number) =>
    f.mustRevalidate
      ? 0
      : directive === undefined
        ? option
        : Math.min(directive, origin ? route.maxTtl : option)
  const revalidate = verdict.validators
    ? Math.min(Math.max(lifetime, REVALIDATE_KEEP_MIN), REVALIDATE_KEEP_MAX)
    : 0
  const make = (swrOption: number, sieOption: number): Lifetimes => {
    const swr = pick(f.swr, swrOption)
    const sie = pick(f.sie, sieOption)
    return { left, swr, sie, keep: Math.max(left, 0) + Math.max(swr, sie, revalidate) }
  }
  const swr = msOf(route.swr, req, res)
  const sie = msOf(route.sie, req, res)
  if (swr instanceof Promise || sie instanceof Promise)
    return Promise.all([swr, sie]).then(([a, b]) => make(a, b))
  return make(swr, sie)
}

/** The stored fields of a response: replayable, not listed in `Connection`, not omitted; with a `Date`. */
export function storedHeaders(
  source: Readonly<OutgoingHttpHeaders>,
  omit: ReadonlySet<string>,
  now: number,
  date: (ms: number) => string = formatHttpDate,
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
  if (source.date === undefined) headers.push(['date', date(now)])
  return headers
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

async function userTags(route: RouteConfig, req: Request, res: Response): Promise<string[]> {
  if (route.tags === undefined) return []
  const value = typeof route.tags === 'function' ? await route.tags(req, res) : route.tags
  if (!Array.isArray(value)) return []
  return value.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 256)
}

/** What {@link buildEntry} takes besides the response and its route. */
export interface EntryContext {
  /** Bodies from this size up may get compressed variants (0: never). */
  readonly variantMinBytes: number
  readonly now: number
  /** Formats the Date a response stored without one gets. */
  readonly date?: (ms: number) => string
  /** The route's `ttl` as already resolved for this response. */
  readonly ttl?: number | Promise<number>
}

/**
 * Turns a finished response into an entry: replayable headers only, lifetimes from the
 * route and bounded by the response's own `s-maxage` / `max-age`, tags from the route,
 * `Surrogate-Key` and the URL. `undefined` when the lifetime comes out as zero; without a
 * promise when the route's options are static.
 */
export function buildEntry(
  captured: Captured,
  verdict: Verdict & { store: true },
  req: Request,
  res: Response,
  route: RouteConfig,
  primary: string,
  front: boolean,
  at: EntryContext,
): MaybePromise<Placement | undefined> {
  return then(lifetimesOf(verdict, route, req, res, at.ttl), (life) => {
    if (life === undefined) return undefined
    if (route.tags === undefined) return assemble(captured, verdict, req, route, primary, front, at, life, [])
    return userTags(route, req, res).then((tags) =>
      assemble(captured, verdict, req, route, primary, front, at, life, tags),
    )
  })
}

function assemble(
  captured: Captured,
  verdict: Verdict & { store: true },
  req: Request,
  route: RouteConfig,
  primary: string,
  front: boolean,
  at: EntryContext,
  life: Lifetimes,
  tags: string[],
): Placement {
  const now = at.now
  const surrogate = captured.headers['surrogate-key']
  if (surrogate !== undefined) tags.push(...surrogateKeys(surrogate))
  const url = req.originalUrl ?? req.url
  const implicit = implicitTags(url)
  const allTags = tags.length === 0 ? implicit : [...new Set([...tags, ...implicit])].slice(0, MAX_TAGS)
  const headers = storedHeaders(captured.headers, route.omit, now, at.date)
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
  entry.compress = at.variantMinBytes > 0 && wantsVariants(entry, at.variantMinBytes)
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
