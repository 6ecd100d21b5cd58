import { createPrimaryKey, primaryKey, secondaryKey } from '../src/key'

describe('cache keys', () => {
  it('keys a short URL by its text and hashes a long one', () => {
    expect(primaryKey('http://shop.example', '/a?b=1', undefined)).toBe('G\nhttp://shop.example\n/a?b=1')
    expect(primaryKey('http://shop.example', '/a', ['tenant-1'])).toBe(
      'G\nhttp://shop.example\n/a\n["tenant-1"]',
    )
    const long = `/search?q=${'x'.repeat(300)}`
    const hashed = primaryKey('http://shop.example', long, undefined)
    expect(hashed).toMatch(/^[A-Za-z0-9_-]{27}$/)
    expect(primaryKey('http://shop.example', `${long}y`, undefined)).not.toBe(hashed)
  })

  it('gives the same keys through the per-instance memo', () => {
    const memo = createPrimaryKey()
    const long = `/p/${'y'.repeat(400)}`
    for (const url of ['/a', '/a?b=1', long, long, '/a']) {
      expect(memo('https://shop.example', url, undefined)).toBe(
        primaryKey('https://shop.example', url, undefined),
      )
    }
    expect(memo('https://shop.example', '/a', ['x'])).toBe(primaryKey('https://shop.example', '/a', ['x']))
  })

  it('never lets a crafted URL take the key of another URL’s variant', () => {
    const primary = primaryKey('http://shop.example', '/a', undefined)
    const variant = secondaryKey(primary, ['accept-language'], { 'accept-language': 'en' })
    expect(variant.startsWith(`${primary}\n#`)).toBe(true)
    // The variant's text with its line break as a URL character: the key of another URL (a line
    // break itself never reaches the cache, Node refuses it in a request target).
    const suffix = variant.slice(primary.length)
    expect(primaryKey('http://shop.example', `/a${suffix.replace('\n', ':')}`, undefined)).not.toBe(variant)
    // Variants of a hashed key are keyed apart from every raw key as well.
    const hashed = primaryKey('http://shop.example', `/${'z'.repeat(300)}`, undefined)
    expect(secondaryKey(hashed, ['accept-language'], { 'accept-language': 'en' }).split('\n')).toHaveLength(2)
  })

  it('keys equivalent Accept-Language values alike and different ones apart', () => {
    const primary = primaryKey('http://shop.example', '/a', undefined)
    const key = (value: string) => secondaryKey(primary, ['accept-language'], { 'accept-language': value })
    expect(key('en, fr;q=0.5')).toBe(key('FR;q=0.5,en'))
    expect(key('en')).not.toBe(key('fr'))
  })
})
