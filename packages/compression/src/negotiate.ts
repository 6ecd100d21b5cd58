import { negotiateEncoding } from '@hotpath/core'
import type { Encoding } from './types'

/** Headers up to this long are memoised; clients send a handful of distinct values. */
const MEMO_KEY_MAX = 256
const MEMO_ENTRIES = 256

/** The coding to use among `offered` (server preference order), or `null` for identity. */
export function negotiate(header: string | undefined, offered: readonly Encoding[]): Encoding | null {
  return negotiateEncoding(header, offered)
}

/** {@link negotiate} with a small per-instance memo of the last distinct headers. */
export function createNegotiator(
  offered: readonly Encoding[],
): (header: string | undefined) => Encoding | null {
  const memo = new Map<string, Encoding | null>()
  return function negotiateEncoding(header) {
    if (header === undefined || header.length > MEMO_KEY_MAX) return negotiate(header, offered)
    const known = memo.get(header)
    if (known !== undefined) return known
    const chosen = negotiate(header, offered)
    if (memo.size >= MEMO_ENTRIES) memo.clear()
    memo.set(header, chosen)
    return chosen
  }
}
