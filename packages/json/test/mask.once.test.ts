import { parseFields } from '../src'

const post = {
  id: 1,
  title: 'T',
  password: 'secret',
  author: { id: 7, name: 'Ann', email: 'a@x' },
  tags: [
    { id: 1, label: 'x', internal: true },
    { id: 2, label: 'y', internal: false },
  ],
}
const apply = (mask: string, value: unknown = post) => parseFields(mask).apply(value)

describe('masking', () => {
  it('keeps only the selected keys', () => {
    expect(apply('id,title')).toEqual({ id: 1, title: 'T' })
  })

  it('keeps the source order whatever the mask order', () => {
    expect(JSON.stringify(apply('title,id'))).toBe('{"id":1,"title":"T"}')
  })

  it('selects inside an object by path and by group', () => {
    expect(apply('author/name')).toEqual({ author: { name: 'Ann' } })
    expect(apply('author(id,name)')).toEqual({ author: { id: 7, name: 'Ann' } })
  })

  it('applies a mask to every element of an array', () => {
    expect(apply('tags/label')).toEqual({ tags: [{ label: 'x' }, { label: 'y' }] })
    expect(apply('id', [post, { id: 2, x: 1 }])).toEqual([{ id: 1 }, { id: 2 }])
  })

  it('selects every key with *, and inside every key with */name', () => {
    expect(apply('*', { a: 1, b: 2 })).toEqual({ a: 1, b: 2 })
    expect(apply('*/id', { a: { id: 1, x: 2 }, b: { id: 3 } })).toEqual({ a: { id: 1 }, b: { id: 3 } })
  })

  it('ignores names the value does not have', () => {
    expect(apply('id,nope,author/nope')).toEqual({ id: 1, author: {} })
  })

  it('keeps scalars and null where a sub-selection was asked', () => {
    expect(apply('title/x,author')).toEqual({ title: 'T', author: post.author })
    expect(apply('a/b', { a: null })).toEqual({ a: null })
  })

  it('uses toJSON (a Date is sent as its string)', () => {
    const when = new Date(0)
    expect(JSON.stringify(apply('at', { at: when, x: 1 }))).toBe(`{"at":"${when.toJSON()}"}`)
    expect(apply('at/x', { at: when })).toEqual({ at: when.toJSON() })
  })

  it('copies a __proto__ key as data, never as a prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"a":1}')
    const out = apply('-a', value) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true}}')
  })
})

describe('exclusion', () => {
  it('removes a key and keeps every other one', () => {
    expect(apply('-password')).toEqual({ id: 1, title: 'T', author: post.author, tags: post.tags })
  })

  it('removes inside an object by path, keeping the rest of it', () => {
    expect(apply('-author/email')).toMatchObject({ author: { id: 7, name: 'Ann' }, password: 'secret' })
    expect((apply('-author/email') as { author: object }).author).not.toHaveProperty('email')
  })

  it('removes a group of names inside an object', () => {
    expect((apply('-author(email,id)') as { author: object }).author).toEqual({ name: 'Ann' })
  })

  it('removes inside every element of an array', () => {
    expect((apply('-tags/internal') as { tags: object[] }).tags).toEqual([
      { id: 1, label: 'x' },
      { id: 2, label: 'y' },
    ])
  })

  it('combines with a selection: *,-password', () => {
    expect(apply('*,-password')).toEqual(apply('-password'))
  })

  it('removes from what a selection kept: author,-author/email', () => {
    expect(apply('author,-author/email')).toEqual({ author: { id: 7, name: 'Ann' } })
  })

  it('removes inside a selected group: author(-email)', () => {
    expect(apply('author(-email)')).toEqual({ author: { id: 7, name: 'Ann' } })
  })
})

describe('req.fields.has()', () => {
  it('is true for a selected path and its parents', () => {
    const m = parseFields('author/name')
    expect(m.has('author')).toBe(true)
    expect(m.has('author.name')).toBe(true)
  })

  it('is false for a path the mask does not select', () => {
    const m = parseFields('author/name')
    expect(m.has('author.email')).toBe(false)
    expect(m.has('title')).toBe(false)
  })

  it('is true below a wholly selected key', () => {
    expect(parseFields('author').has('author.email.domain')).toBe(true)
  })

  it('is false for a removed path and true beside it', () => {
    const m = parseFields('-author/email')
    expect(m.has('author.email')).toBe(false)
    expect(m.has('author.name')).toBe(true)
    expect(m.has('title')).toBe(true)
  })
})

describe('req.fields.toColumns()', () => {
  const known = ['id', 'title', 'password', 'author_id']

  it('lists the selected top-level names, in the order of the known columns', () => {
    expect(parseFields('title,id,author/name').toColumns(known)).toEqual(['id', 'title'])
  })

  it('resolves * and removals against the known columns', () => {
    expect(parseFields('-password').toColumns(known)).toEqual(['id', 'title', 'author_id'])
    expect(parseFields('*,-password').toColumns(known)).toEqual(['id', 'title', 'author_id'])
  })

  it('answers ["*"] for "all" without known columns', () => {
    expect(parseFields('*').toColumns()).toEqual(['*'])
    expect(parseFields('-password').toColumns()).toEqual(['*'])
  })

  it('never returns a known-less name that is not a plain identifier', () => {
    expect(parseFields('id,$x,@y,a-b,ok_1').toColumns()).toEqual(['id', 'ok_1'])
  })

  it('drops a name the table does not have', () => {
    expect(parseFields('id,nope').toColumns(known)).toEqual(['id'])
  })
})
