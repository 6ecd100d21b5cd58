import { HotpathError } from './errors'

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
}

const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)/gy

/**
 * Milliseconds from a number (already ms) or a string such as `'500ms'`, `'5m'`, `'1h30m'`.
 * Throws `ERR_HOTPATH_DURATION` for anything else, naming the accepted forms.
 */
export function parseDuration(input: number | string, what = 'duration'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input
    throw durationError(input, what)
  }
  if (typeof input !== 'string') throw durationError(input, what)
  const text = input.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  if (text.length === 0 || text.length > 64) throw durationError(input, what)
  DURATION_PART.lastIndex = 0
  let total = 0
  let consumed = 0
  for (;;) {
    while (text[consumed] === ' ') consumed++
    if (consumed === text.length) break
    DURATION_PART.lastIndex = consumed
    const match = DURATION_PART.exec(text)
    if (!match) throw durationError(input, what)
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number)
    consumed = DURATION_PART.lastIndex
  }
  if (consumed === 0) throw durationError(input, what)
  return total
}

/** Bytes from a number or a string such as `'64mb'`, `'512 KB'`, `'1.5gb'`. */
export function parseBytes(input: number | string, what = 'size'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return Math.floor(input)
    throw bytesError(input, what)
  }
  if (typeof input !== 'string') throw bytesError(input, what)
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input)
  if (!match) throw bytesError(input, what)
  const unit = (match[2] as string).toLowerCase() || 'b'
  const factor = BYTE_UNITS[unit]
  if (factor === undefined) throw bytesError(input, what)
  return Math.floor(Number(match[1]) * factor)
}

function durationError(input: unknown, what: string): HotpathError {
  return new HotpathError(
    'ERR_HOTPATH_DURATION',
    `Invalid ${what}: ${JSON.stringify(input)}. Use milliseconds as a number, or a string such as '500ms', '30s', '5m', '1h30m', '1d'.`,
  )
}

function bytesError(input: unknown, what: string): HotpathError {
  return new HotpathError(
    'ERR_HOTPATH_BYTES',
    `Invalid ${what}: ${JSON.stringify(input)}. Use bytes as a number, or a string such as '512kb', '64mb', '1gb'.`,
  )
}
