import { createServer, type ServerResponse } from 'node:http'
import {
  appendVary,
  isFresh,
  parseCacheControl,
  parseETagList,
  preconditionHolds,
  strongMatch,
  weakMatch,
} from '../src'

describe('parseETagList', () => {
  it('splits a list of strong and weak tags', () => {
    expect(parseETagList('"a", W/"b",  "c,d"')).toEqual(['"a"', 'W/"b"', '"c,d"'])
  })
  it('recognises the wildcard', () => {
    expect(parseETagList(' * ')).toBe('*')
  })
  it.each([['"unterminated'], ['abc'], ['W/abc'], ['"a" junk']])('returns null for malformed %p', (value) => {
    expect(parseETagList(value)).toBeNull()
  })
  it('returns null for an oversized value without scanning it', () => {
    expect(parseETagList(`"${'a'.repeat(10_000)}"`)).toBeNull()
  })
  it('parses 8 KB of quotes in linear time', () => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < 100; i++) parseETagList(`W/"${'"'.repeat(8000)}`)
    // 100 runs of a quadratic scan of 8 KB would take seconds.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000)
  })
})

describe('entity tag comparison (RFC 9110 §8.8.3.2)', () => {
  it('weak comparison ignores W/', () => {
    expect(weakMatch(['W/"1"'], '"1"')).toBe(true)
    expect(weakMatch(['"1"'], 'W/"1"')).toBe(true)
    expect(weakMatch(['"1"'], '"2"')).toBe(false)
  })
  it('strong comparison needs two strong identical tags', () => {
    expect(strongMatch(['"1"'], '"1"')).toBe(true)
    expect(strongMatch(['W/"1"'], 'W/"1"')).toBe(false)
    expect(strongMatch(['"1"'], 'W/"1"')).toBe(false)
  })
  it('* matches only an existing representation', () => {
    expect(weakMatch('*', '"x"')).toBe(true)
    expect(weakMatch('*', undefined)).toBe(false)
  })
})

describe('isFresh', () => {
  const lastModified = 'Wed, 21 Oct 2026 07:28:00 GMT'
  it('is false without validators', () => {
    expect(isFresh({}, { etag: '"a"' })).toBe(false)
  })
  it('matches If-None-Match weakly', () => {
    expect(isFresh({ 'if-none-match': 'W/"a"' }, { etag: '"a"' })).toBe(true)
  })
  it('gives If-None-Match precedence over If-Modified-Since', () => {
    expect(
      isFresh(
        { 'if-none-match': '"b"', 'if-modified-since': lastModified },
        { etag: '"a"', 'last-modified': lastModified },
      ),
    ).toBe(false)
  })
  it('uses If-Modified-Since when there is no If-None-Match', () => {
    expect(isFresh({ 'if-modified-since': lastModified }, { 'last-modified': lastModified })).toBe(true)
    expect(
      isFresh({ 'if-modified-since': 'Tue, 20 Oct 2026 07:28:00 GMT' }, { 'last-modified': lastModified }),
    ).toBe(false)
  })
  it('is false when the request says no-cache', () => {
    expect(isFresh({ 'if-none-match': '"a"', 'cache-control': 'max-age=0, no-cache' }, { etag: '"a"' })).toBe(
      false,
    )
  })
})

describe('preconditionHolds', () => {
  it('holds without preconditions', () => {
    expect(preconditionHolds({}, '"a"')).toBe(true)
  })
  it('evaluates If-Match strongly', () => {
    expect(preconditionHolds({ 'if-match': '"a"' }, '"a"')).toBe(true)
    expect(preconditionHolds({ 'if-match': 'W/"a"' }, 'W/"a"')).toBe(false)
  })
  it('evaluates If-Unmodified-Since when If-Match is absent', () => {
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT'
    expect(preconditionHolds({ 'if-unmodified-since': date }, undefined, date)).toBe(true)
    expect(
      preconditionHolds({ 'if-unmodified-since': 'Tue, 20 Oct 2026 07:28:00 GMT' }, undefined, date),
    ).toBe(false)
  })
})

describe('appendVary', () => {
  function response(): ServerResponse {
    const server = createServer()
    const res = new (require('node:http').ServerResponse)({
      method: 'GET',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
    })
    server.close()
    return res as ServerResponse
  }
  it('sets Vary when there is none', () => {
    const res = response()
    appendVary(res, 'Accept-Encoding')
    expect(res.getHeader('vary')).toBe('Accept-Encoding')
  })
  it('appends without duplicating, case-insensitively', () => {
    const res = response()
    res.setHeader('Vary', 'Accept')
    appendVary(res, 'accept-encoding')
    appendVary(res, 'ACCEPT')
    expect(res.getHeader('vary')).toBe('Accept, accept-encoding')
  })
  it('leaves Vary: * alone', () => {
    const res = response()
    res.setHeader('Vary', '*')
    appendVary(res, 'Accept-Encoding')
    expect(res.getHeader('vary')).toBe('*')
  })
})

describe('parseCacheControl', () => {
  it('reads directives case-insensitively with their values', () => {
    const parsed = parseCacheControl('Public, MAX-AGE=60, s-maxage="120", No-Store')
    expect([...parsed]).toEqual([
      ['public', ''],
      ['max-age', '60'],
      ['s-maxage', '120'],
      ['no-store', ''],
    ])
  })
  it('is empty for a missing header', () => {
    expect(parseCacheControl(undefined).size).toBe(0)
  })
})
