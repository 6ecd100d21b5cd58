import { HotpathError, parseDuration } from '@hotpath/core'
import type { Directives, PresetName } from './types'

const ONE_YEAR = 31_536_000

export const DIRECTIVE_KEYS: readonly (keyof Directives)[] = [
  'public',
  'private',
  'noStore',
  'noCache',
  'maxAge',
  'sMaxage',
  'staleWhileRevalidate',
  'staleIfError',
  'mustRevalidate',
  'proxyRevalidate',
  'noTransform',
  'immutable',
]

export const PRESETS: Readonly<Record<PresetName, Directives>> = {
  // RFC 8246: the body at this URL never changes, so even a reload need not revalidate.
  immutable: { public: true, maxAge: ONE_YEAR * 1000, immutable: true },
  // Resolved per request: fingerprinted names get `immutable`, others revalidate.
  static: { public: true, noCache: true },
  api: { public: true, maxAge: 60_000, staleWhileRevalidate: 60_000 },
  monitoring: { public: true, maxAge: 60_000 },
  'no-store': { noStore: true },
  private: { private: true, noCache: true },
}

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[]

/** `app.3f9a1c2b.js`, `main-8d2e1f7a9b.css`, `logo.a1b2c3d4e5.svg`: a hash of 8+ hex digits before the extension. */
export const DEFAULT_FINGERPRINT = /[.-][0-9a-f]{8,}\.[a-z0-9]+$/i

function seconds(value: number | string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  return Math.floor(parseDuration(value, name) / 1000)
}

/** Checks directive combinations that contradict each other, with the fix in the message. */
export function validateDirectives(directives: Directives, where: string): void {
  for (const key of Object.keys(directives)) {
    if (!(DIRECTIVE_KEYS as readonly string[]).includes(key)) continue
    const value = directives[key as keyof Directives]
    if (value === undefined) continue
    const isDuration = ['maxAge', 'sMaxage', 'staleWhileRevalidate', 'staleIfError'].includes(key)
    if (isDuration) seconds(value as number | string, `${where}.${key}`)
    else if (typeof value !== 'boolean') {
      throw new HotpathError('ERR_HOTPATH_CACHE_CONTROL', `${where}.${key} must be true or false.`)
    }
  }
  if (directives.public && directives.private) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `${where}: "public" and "private" contradict each other; keep one (private for per-user responses).`,
    )
  }
  if (directives.noStore && (directives.maxAge !== undefined || directives.sMaxage !== undefined)) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `${where}: "noStore" with a max-age makes no sense; drop maxAge/sMaxage or noStore.`,
    )
  }
}

/** Serialises directives once, in a fixed order (RFC 9111 §5.2.2 names). */
export function serialize(directives: Directives): string {
  const parts: string[] = []
  if (directives.public) parts.push('public')
  if (directives.private) parts.push('private')
  if (directives.noStore) parts.push('no-store')
  if (directives.noCache) parts.push('no-cache')
  const maxAge = seconds(directives.maxAge, 'maxAge')
  if (maxAge !== undefined) parts.push(`max-age=${maxAge}`)
  const sMaxage = seconds(directives.sMaxage, 'sMaxage')
  if (sMaxage !== undefined) parts.push(`s-maxage=${sMaxage}`)
  const swr = seconds(directives.staleWhileRevalidate, 'staleWhileRevalidate')
  if (swr !== undefined) parts.push(`stale-while-revalidate=${swr}`)
  const sie = seconds(directives.staleIfError, 'staleIfError')
  if (sie !== undefined) parts.push(`stale-if-error=${sie}`)
  if (directives.mustRevalidate) parts.push('must-revalidate')
  if (directives.proxyRevalidate) parts.push('proxy-revalidate')
  if (directives.noTransform) parts.push('no-transform')
  if (directives.immutable) parts.push('immutable')
  return parts.join(', ')
}

/** The directive fields of a rule (everything else on it is rule metadata). */
export function pickDirectives(source: object): Directives {
  const out: Directives = {}
  for (const key of DIRECTIVE_KEYS) {
    const value = (source as Directives)[key]
    if (value !== undefined) (out as Record<string, unknown>)[key] = value
  }
  return out
}

/** Directives set explicitly on a rule turn off the preset's opposites. */
export function mergeOverPreset(preset: Directives, own: Directives): Directives {
  const merged: Directives = { ...preset, ...own }
  if (own.private) delete merged.public
  if (own.public) delete merged.private
  if (own.noStore) {
    delete merged.maxAge
    delete merged.sMaxage
    delete merged.staleWhileRevalidate
    delete merged.immutable
  }
  if (own.maxAge !== undefined && !own.noCache && preset.noCache) delete merged.noCache
  return merged
}
