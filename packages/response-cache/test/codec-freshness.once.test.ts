import { decode, encode } from '../src/stores/codec'
import type { CacheEntry } from '../src/types'

const entry: CacheEntry = {
  kind: 'entry',
  status: 200,
  headers: [['cache-control', 'max-age=60, must-revalidate']],
  body: Buffer.from('x'),
  variants: {},
  storedAt: 1000,
  expiresAt: 2000,
  staleUntil: 2000,
  errorUntil: 2000,
  tags: [],
  route: 'GET /r',
  front: true,
  compress: false,
  initialAge: 30_000,
  mustRevalidate: true,
}

describe('the Redis codec and freshness', () => {
  it('keeps the age an entry arrived with and its must-revalidate', () => {
    const back = decode(encode(entry)) as CacheEntry
    expect([back.initialAge, back.mustRevalidate]).toEqual([30_000, true])
  })

  it('reads an entry written without them as age 0, revalidation not required', () => {
    const back = decode(encode({ ...entry, initialAge: 0, mustRevalidate: false })) as CacheEntry
    expect([back.initialAge, back.mustRevalidate]).toEqual([0, false])
  })
})
