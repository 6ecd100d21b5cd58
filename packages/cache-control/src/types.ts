import type { Logger, Matcher } from '@hotpath/core'
import type { Request } from 'express'

/** A duration in seconds-precision: milliseconds as a number, or `'5m'`, `'1y'`-style strings. */
export type Duration = number | string

/**
 * `Cache-Control` directives (RFC 9111 §5.2.2, RFC 5861, RFC 8246). Durations are
 * `parseDuration` forms and are written in whole seconds.
 */
export interface Directives {
  public?: boolean
  private?: boolean
  noStore?: boolean
  noCache?: boolean
  maxAge?: Duration
  sMaxage?: Duration
  staleWhileRevalidate?: Duration
  staleIfError?: Duration
  mustRevalidate?: boolean
  proxyRevalidate?: boolean
  noTransform?: boolean
  immutable?: boolean
}

export type PresetName = 'immutable' | 'static' | 'api' | 'monitoring' | 'no-store' | 'private'

export interface Rule extends Directives {
  /** Which requests: a path glob (`/static/**`), a RegExp on the path, or `(req) => boolean`. */
  match: Matcher
  /** A label for stats; default: the matcher's text. */
  name?: string
  /** Methods the rule applies to. Default `['GET', 'HEAD']`. */
  methods?: readonly string[]
  /**
   * Statuses that get the cacheable policy. Default: 2xx and 304. Other statuses get
   * `no-store` when ≥ 400 and are left alone otherwise.
   */
  status?: readonly number[] | ((status: number) => boolean)
  /** Start from a preset; directives given on the rule are merged over it. */
  preset?: PresetName
  /** Also send `CDN-Cache-Control` (RFC 9213): `true` copies the policy, or give directives. */
  cdn?: boolean | Directives
  /** Also send `Surrogate-Control`: `true` copies the policy, or give directives. */
  surrogate?: boolean | Directives
  /** Replace a `Cache-Control` the route set itself. Default `false`. */
  override?: boolean
  /** Request headers the response varies on; merged into `Vary`, never replacing it. */
  vary?: readonly string[]
  /** Per-rule ETag choice, over the instance option. */
  etag?: ETagMode
  /** For the `static` preset: what counts as a fingerprinted file name. */
  fingerprint?: RegExp
  /**
   * A response that sets a cookie (`Set-Cookie`, also one added late, as express-session does)
   * gets `private` instead of `public` / `s-maxage`, keeping the rule's `max-age`; the rule's
   * `CDN-Cache-Control` becomes `private`. `'public-ok'` sends the rule as it is (only for a
   * cookie every visitor may share). Default `'private'`.
   */
  cookies?: 'private' | 'public-ok'
}

export type ETagMode = 'weak' | 'strong' | false

export interface CacheControlOptions {
  /** First-match rules table. Default `[]` (only ETag/conditional handling). */
  rules?: readonly Rule[]
  /**
   * ETags for bodies sent in one piece with `res.send`/`res.json`/`res.end` when the
   * response has none yet. Default `'weak'`.
   */
  etag?: ETagMode
  /**
   * The current validator of the resource a state-changing request targets, for
   * `If-Match` (RFC 9110 §13.1.1): a failed precondition answers 412. Default: none.
   */
  currentETag?: (req: Request) => string | undefined | Promise<string | undefined>
  /** The current `Last-Modified` (HTTP-date) for `If-Unmodified-Since`. Default: none. */
  currentLastModified?: (req: Request) => string | Date | undefined | Promise<string | Date | undefined>
  /** Where warnings and guarded callback errors go. Default `console`. */
  logger?: Logger
}

export interface CacheControlStats {
  /** Responses each rule set a policy on, by rule name. */
  rules: Record<string, number>
  /** 304 Not Modified answers. */
  notModified: number
  /** Body bytes not sent thanks to 304s. */
  bytesSaved: number
  /** 412 Precondition Failed answers. */
  preconditionFailed: number
  /** Error responses given `no-store`. */
  errorsNoStore: number
}
