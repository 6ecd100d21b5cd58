import { HotpathError } from '@hotpath/core'
import { type CompressionOptions, compression } from '../src'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(HotpathError)
    return (err as HotpathError).code
  }
  return undefined
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  return ''
}

describe('options', () => {
  it('rejects an unknown option and suggests the closest one', () => {
    const make = () => compression({ treshold: 100 } as unknown as CompressionOptions)
    expect(codeOf(make)).toBe('ERR_HOTPATH_OPTION')
    expect(messageOf(make)).toContain('Did you mean "threshold"?')
  })

  it('rejects an unsupported encoding and names the supported ones', () => {
    const make = () =>
      compression({ encodings: ['gzip', 'zstd'] as unknown as CompressionOptions['encodings'] })
    expect(codeOf(make)).toBe('ERR_HOTPATH_OPTION')
    expect(messageOf(make)).toContain('br, gzip, deflate')
  })

  it('rejects an empty encodings list', () => {
    expect(codeOf(() => compression({ encodings: [] }))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects an encoding listed twice', () => {
    expect(codeOf(() => compression({ encodings: ['gzip', 'gzip'] }))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects a gzip level outside -1..9', () => {
    expect(codeOf(() => compression({ level: 10 }))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects a Brotli quality outside 0..11', () => {
    expect(codeOf(() => compression({ brotliQuality: 12 }))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects a threshold that is not a size', () => {
    expect(codeOf(() => compression({ threshold: 'big' }))).toBe('ERR_HOTPATH_BYTES')
  })

  it('rejects a filter that is not a function', () => {
    expect(codeOf(() => compression({ filter: true as unknown as CompressionOptions['filter'] }))).toBe(
      'ERR_HOTPATH_OPTION',
    )
  })

  it('rejects a logger without warn and error', () => {
    expect(codeOf(() => compression({ logger: {} as unknown as CompressionOptions['logger'] }))).toBe(
      'ERR_HOTPATH_OPTION',
    )
  })

  it('accepts sizes as strings', () => {
    expect(compression({ threshold: '2kb' }).stats().threshold).toBe(2048)
  })

  it('defaults the threshold to 500 bytes', () => {
    expect(compression().stats().threshold).toBe(500)
  })

  it('reports only the encodings it offers', () => {
    expect(Object.keys(compression({ encodings: ['gzip'] }).stats().encodings)).toEqual(['gzip'])
  })

  it('does not mutate the options it is given', () => {
    const encodings: CompressionOptions['encodings'] = Object.freeze(['gzip', 'br'] as const)
    const options = Object.freeze({ threshold: '1kb', encodings, level: 9 })
    const copy = JSON.stringify(options)
    compression(options)
    expect(JSON.stringify(options)).toBe(copy)
  })
})
