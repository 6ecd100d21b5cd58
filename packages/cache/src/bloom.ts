import type { OnceLogger } from '@hotpath/core'
import type { RedisTier } from './redis-tier'
import type { BloomFilter, BloomOptions } from './types'

/** Bits and hash count for `n` ids at false-positive rate `p` (the textbook optimum). */
export function bloomSize(n: number, p: number): { bits: number; hashes: number } {
  const bits = Math.max(64, Math.ceil((-n * Math.log(p)) / Math.LN2 ** 2))
  return { bits, hashes: Math.max(1, Math.round((bits / n) * Math.LN2)) }
}

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  // murmur3's finalizer: FNV alone leaves the low bits of similar ids correlated.
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

/** Kirsch–Mitzenmacher: k positions from two hashes, as good as k independent ones. */
export function positions(id: string, hashes: number, bits: number): number[] {
  const a = fnv1a(id, 0x811c9dc5)
  const b = fnv1a(id, 0x9747b28c) | 1
  const out = new Array<number>(hashes)
  for (let i = 0; i < hashes; i++) out[i] = ((a + Math.imul(i, b)) >>> 0) % bits
  return out
}

/** Bit `n` is the most significant bit of byte n/8 first: the order of Redis bitmaps. */
function setBit(bytes: Uint8Array, bit: number): void {
  bytes[bit >>> 3] = (bytes[bit >>> 3] as number) | (0x80 >>> (bit & 7))
}

function getBit(bytes: Uint8Array, bit: number): boolean {
  return ((bytes[bit >>> 3] as number) & (0x80 >>> (bit & 7))) !== 0
}

async function fill(
  options: BloomOptions,
  bits: number,
  hashes: number,
): Promise<{ bytes: Buffer; count: number }> {
  const bytes = Buffer.alloc(Math.ceil(bits / 8))
  let count = 0
  const source = await options.load()
  for await (const id of source as AsyncIterable<string>) {
    for (const bit of positions(String(id), hashes, bits)) setBit(bytes, bit)
    count++
  }
  return { bytes, count }
}

interface Sized extends BloomFilter {
  readonly bits: number
  readonly hashes: number
}

/**
 * The Bloom filter of a cache without Redis: a bitmap in memory. Until `load` has run once it
 * answers "maybe" for every id, so a filter still loading never hides an existing row.
 */
export function memoryBloom(options: BloomOptions, log: OnceLogger): Sized {
  const { bits, hashes } = bloomSize(options.expected, options.falsePositiveRate ?? 0.01)
  let bytes: Uint8Array | undefined
  const filter: Sized = {
    bits,
    hashes,
    get ready() {
      return bytes !== undefined
    },
    async has(id) {
      if (bytes === undefined) return true
      const map = bytes
      return positions(String(id), hashes, bits).every((bit) => getBit(map, bit))
    },
    async add(id) {
      if (bytes === undefined) return
      for (const bit of positions(String(id), hashes, bits)) setBit(bytes, bit)
    },
    async rebuild() {
      const next = await fill(options, bits, hashes)
      bytes = next.bytes
      return next.count
    },
  }
  filter.rebuild().catch((error: unknown) => {
    log.warnOnce(
      'ERR_HOTPATH_CACHE_BLOOM',
      `@hotpath/cache: bloom.load failed (${String(error)}); every id counts as present.`,
    )
  })
  return filter
}

/**
 * The Bloom filter beside a Redis L2: one bitmap shared by the fleet, read and written with
 * one BITFIELD per id (`GET u1` / `SET u1`, Redis 7 and later). A rebuild uploads a fresh
 * bitmap under a temporary key and RENAMEs it into place, so readers never see a half filter.
 * Any Redis failure answers "maybe": the factory decides, as it would without a filter.
 */
export function redisBloom(options: BloomOptions, l2: RedisTier, log: OnceLogger): Sized {
  const { bits, hashes } = bloomSize(options.expected, options.falsePositiveRate ?? 0.01)
  const key = l2.bloomKey
  let ready = false
  let checking: Promise<void> | undefined
  const check = () => {
    checking ??= l2
      .run(() => l2.client.exists(key) as Promise<number>)
      .then(async (exists) => {
        if (exists === 1) ready = true
        else {
          const lease = await l2.run(() => l2.client.set(`${key}:lock`, '1', 'PX', 60_000, 'NX'))
          if (lease === 'OK') await filter.rebuild()
        }
      })
      .catch((error: unknown) => {
        log.warnOnce(
          'ERR_HOTPATH_CACHE_BLOOM',
          `@hotpath/cache: the Bloom filter could not be read or built (${String(error)}); every id counts as present.`,
        )
      })
      .finally(() => {
        checking = undefined
      })
    return checking
  }
  const filter: Sized = {
    bits,
    hashes,
    get ready() {
      return ready
    },
    async has(id) {
      if (!ready) {
        void check()
        return true
      }
      const args = positions(String(id), hashes, bits).flatMap((bit) => ['GET', 'u1', bit])
      try {
        const reply = (await l2.run(() => l2.client.bitfield(key, ...args))) as number[]
        return reply.every((bit) => bit === 1)
      } catch {
        return true
      }
    },
    async add(id) {
      const args = positions(String(id), hashes, bits).flatMap((bit) => ['SET', 'u1', bit, 1])
      await l2.run(() => l2.client.bitfield(key, ...args)).catch(() => undefined)
    },
    async rebuild() {
      const next = await fill(options, bits, hashes)
      const tmp = `${key}:tmp`
      await l2.run(
        async () => {
          await l2.client.set(tmp, next.bytes)
          await l2.client.rename(tmp, key)
        },
        Math.max(2000, l2.commandTimeout * 20),
      )
      ready = true
      return next.count
    },
  }
  void check()
  return filter
}
