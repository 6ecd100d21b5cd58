/**
 * A misconfiguration or bad input that hotpath can name. `code` is stable across
 * versions (`ERR_HOTPATH_…`) so apps can match on it; the message names the fix.
 */
export class HotpathError extends Error {
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.name = 'HotpathError'
    this.code = code
  }
}

/** Throws a coded option error; used by every factory to validate at construction. */
export function optionError(pkg: string, message: string, code = 'ERR_HOTPATH_OPTION'): never {
  throw new HotpathError(code, `${pkg}: ${message}`)
}

/** Suggests the closest known name for a misspelt option ("did you mean …"). */
export function didYouMean(input: string, known: readonly string[]): string {
  let best = ''
  let bestScore = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const score = editDistance(input.toLowerCase(), candidate.toLowerCase())
    if (score < bestScore) {
      bestScore = score
      best = candidate
    }
  }
  return bestScore <= Math.max(2, Math.floor(input.length / 3)) ? ` Did you mean "${best}"?` : ''
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const temp = row[j] as number
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      prev = temp
    }
  }
  return row[b.length] as number
}

/** Throws when `options` carries a key the factory does not know. */
export function rejectUnknownOptions(
  pkg: string,
  options: object | undefined,
  known: readonly string[],
): void {
  if (options === undefined || options === null) return
  if (typeof options !== 'object') optionError(pkg, `options must be an object, got ${typeof options}.`)
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      optionError(pkg, `unknown option "${key}".${didYouMean(key, known)}`)
    }
  }
}
