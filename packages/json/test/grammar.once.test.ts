import { canonical, FieldsError, parseMask } from '../src/grammar'

const limits = { maxLength: 1024, maxDepth: 8 }
const parse = (text: string) => parseMask(text, limits)
const text = (mask: string) => canonical(parse(mask))

function failure(mask: string, l = limits): FieldsError {
  try {
    parseMask(mask, l)
  } catch (error) {
    expect(error).toBeInstanceOf(FieldsError)
    return error as FieldsError
  }
  throw new Error(`"${mask}" parsed`)
}

describe('the grammar', () => {
  it('parses a list of names', () => {
    expect(text('a,b,c')).toBe('a,b,c')
  })

  it('parses a path as nested selections', () => {
    expect(text('a/b/c')).toBe('a(b(c))')
  })

  it('parses a group', () => {
    expect(text('a(b,c),d')).toBe('a(b,c),d')
  })

  it('parses the wildcard alone and with a sub-selection', () => {
    expect(text('*')).toBe('*')
    expect(text('*/id')).toBe('*(id)')
  })

  it('parses exclusions, including nested and grouped ones', () => {
    expect(text('-password')).toBe('-password')
    expect(text('-a/b')).toBe('-a(b)')
    expect(text('-a(b,c)')).toBe('-a(b,c)')
    expect(text('a(-b)')).toBe('a(-b)')
  })

  it('accepts names with digits, _, $, @ and inner dashes', () => {
    expect(text('x_1,$ref,@type,first-name')).toBe('$ref,@type,first-name,x_1')
  })

  it('ignores spaces around tokens', () => {
    expect(text(' a , b ( c ) ')).toBe('a,b(c)')
  })

  it('returns an empty mask for empty input', () => {
    expect(text('')).toBe('')
    expect(text('   ')).toBe('')
  })
})

describe('canonical form', () => {
  it('is the same for a,b and b,a', () => {
    expect(text('a,b')).toBe(text('b,a'))
  })

  it('is the same for a path list and a group', () => {
    expect(text('a/b,a/c')).toBe(text('a(c,b)'))
  })

  it('lets a whole selection absorb a sub-selection, in either order', () => {
    expect(text('a,a/b')).toBe('a')
    expect(text('a/b,a')).toBe('a')
  })

  it('lets removing a whole key absorb removing inside it', () => {
    expect(text('-a/b,-a')).toBe('-a')
  })

  it('parses back to itself', () => {
    for (const mask of ['a,b(c,-d),*(id),-e(f,g/h)', 'x/y/z,-w', '*,-secret']) {
      const once = text(mask)
      expect(text(once)).toBe(once)
    }
  })
})

describe('syntax errors name the token and its position', () => {
  it.each([
    ['a,,b', ',', 2, 'expected a field name, found ","'],
    ['a,', '', 2, 'expected a field name, found end of input'],
    [',a', ',', 0, 'expected a field name'],
    ['a(b', '(', 1, '"(" is never closed'],
    ['a(b c)', 'c', 4, 'expected "," or ")", found "c"'],
    ['a)', ')', 1, 'unbalanced ")"'],
    ['a b', 'b', 2, 'expected "," found "b"'],
    ['a()', ')', 2, 'expected a field name, found ")"'],
    ['a/', '', 2, 'expected a field name, found end of input'],
    ['a;b', ';', 1, 'expected "," found ";"'],
    ['a.b', '.', 1, 'expected "," found "."'],
    ['--a', '-', 1, '"-" may only start an item'],
    ['-a(-b)', '-', 3, 'an exclusion inside an excluded group is not allowed'],
    ['-*', '*', 1, '"*" cannot be excluded'],
    ['-a/*', '*', 3, '"*" cannot be excluded'],
    ['a(b))', ')', 4, 'unbalanced ")"'],
  ])('rejects %j at the %j token, position %i', (mask, token, position, message) => {
    const error = failure(mask)
    expect(error.code).toBe('ERR_HOTPATH_FIELDS_SYNTAX')
    expect(error.token).toBe(token)
    expect(error.position).toBe(position)
    expect(error.message).toContain(message)
    expect(error.message).toContain(`at position ${position}`)
  })

  it('serializes as the 400 body', () => {
    expect(failure('a,,b').toJSON()).toEqual({
      error: {
        code: 'ERR_HOTPATH_FIELDS_SYNTAX',
        message: 'fields: expected a field name, found "," at position 2.',
        token: ',',
        position: 2,
      },
    })
  })
})

describe('limits', () => {
  it('rejects a mask longer than maxLength before parsing it', () => {
    const error = failure(`a,${'b'.repeat(1100)}`)
    expect(error.code).toBe('ERR_HOTPATH_FIELDS_TOO_LONG')
    expect(error.position).toBe(1024)
    expect(error.status).toBe(400)
  })

  it('accepts a mask of exactly maxLength characters', () => {
    expect(() => parse('a'.repeat(1024))).not.toThrow()
  })

  it('rejects a path deeper than maxDepth, naming the first name too deep', () => {
    const error = failure('a/b/c/d/e/f/g/h/i')
    expect(error.code).toBe('ERR_HOTPATH_FIELDS_DEPTH')
    expect(error.token).toBe('i')
    expect(error.position).toBe(16)
  })

  it('counts groups towards depth', () => {
    const error = failure('a(b(c(d(e(f(g(h(i))))))))')
    expect(error.code).toBe('ERR_HOTPATH_FIELDS_DEPTH')
    expect(error.token).toBe('i')
  })

  it('accepts exactly maxDepth levels', () => {
    expect(() => parse('a/b/c/d/e/f/g/h')).not.toThrow()
  })

  it('parses 1 KB of nested groups without recursion trouble (depth is bounded first)', () => {
    const error = failure('a('.repeat(500))
    expect(error.code).toBe('ERR_HOTPATH_FIELDS_DEPTH')
  })
})

describe('any input', () => {
  it('either parses (and its canonical form parses to itself) or throws a FieldsError', () => {
    const alphabet = ['a', 'b', '*', ',', '/', '(', ')', '-', ' ', '$', '.', '%', '\u00e9']
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 5000; i++) {
      let mask = ''
      const length = Math.floor(random() * 12)
      for (let j = 0; j < length; j++) mask += alphabet[Math.floor(random() * alphabet.length)]
      let once: string
      try {
        once = text(mask)
      } catch (error) {
        expect(error).toBeInstanceOf(FieldsError)
        continue
      }
      expect(text(once)).toBe(once)
    }
  })
})
