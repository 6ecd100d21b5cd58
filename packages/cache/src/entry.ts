import type { Serializer } from './types'

/** A tag as an entry saw it when its value was computed: name, hard and soft version. */
export type TagStamp = readonly [tag: string, hard: number, soft: number]

/** One cached value with its clock: fresh until `e`, usable as a graced value until `g`. */
export interface Entry {
  readonly v: unknown
  /** Created, ms. */
  readonly c: number
  /** Fresh until, ms (lowered locally by a soft tag expiry or a grace backoff). */
  e: number
  /** Graced until, ms (≥ e). */
  readonly g: number
  readonly t: readonly TagStamp[] | undefined
}

/** Format version of what goes to Redis, so a later layout can tell old values apart. */
const FORMAT = 1

export function encodeEntry(serializer: Serializer, entry: Entry): Buffer {
  return serializer.encode([FORMAT, entry.v, entry.c, entry.e, entry.g, entry.t ?? null])
}

/** `undefined` for anything that is not an entry of this format (a foreign key, a torn write). */
export function decodeEntry(serializer: Serializer, buffer: Buffer): Entry | undefined {
  let raw: unknown
  try {
    raw = serializer.decode(buffer)
  } catch {
    return undefined
  }
  if (!Array.isArray(raw) || raw[0] !== FORMAT || raw.length !== 6) return undefined
  const [, v, c, e, g, t] = raw as [number, unknown, number, number, number, TagStamp[] | null]
  if (typeof c !== 'number' || typeof e !== 'number' || typeof g !== 'number') return undefined
  return { v: v === null ? undefined : v, c, e, g, t: Array.isArray(t) ? t : undefined }
}
