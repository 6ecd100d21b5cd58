// Express serving one ~1 KB object to a client that asks for a few of its fields, through:
// `impl: 'json-mask'` (json-mask, then res.json), `'express-partial-response'`, `'hotpath'`
// (@hotpath/json fields()), `'hotpath-schema'` (fields() with the object's JSON Schema: a
// compiled, projected serializer) or `'none'` (res.json of the whole object, no mask).
import { fields } from '@hotpath/json'
import express from 'express'
import partialResponse from 'express-partial-response'
import jsonMask from 'json-mask'

// The bodies of the json scenario: a ~1 KB post with its JSON Schema, and a 10^4-item list with its schema.
export const post = {
  id: 4211,
  slug: 'a-post-about-partial-responses',
  title: 'Partial responses and why they pay',
  summary: 'Selective field loading cut payloads by sixty percent on the plans we serve.',
  body: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8),
  published: true,
  views: 98_231,
  createdAt: '2026-11-02T10:11:12.000Z',
  updatedAt: '2026-11-30T08:09:10.000Z',
  author: {
    id: 77,
    name: 'Ann Example',
    email: 'ann@example.com',
    avatar: 'https://cdn.example.com/a/77.png',
  },
  tags: [
    { id: 1, label: 'http', internal: false },
    { id: 2, label: 'json', internal: false },
    { id: 3, label: 'perf', internal: true },
  ],
}

const tag = {
  type: 'object',
  properties: { id: { type: 'integer' }, label: { type: 'string' }, internal: { type: 'boolean' } },
}
export const postSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    slug: { type: 'string' },
    title: { type: 'string' },
    summary: { type: 'string' },
    body: { type: 'string' },
    published: { type: 'boolean' },
    views: { type: 'integer' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    author: {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        email: { type: 'string' },
        avatar: { type: 'string' },
      },
    },
    tags: { type: 'array', items: tag },
  },
}

/** The mask every client of the 1 KB comparison sends. */
export const MASK = 'id,title,author(name),tags/label'

export const item = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    sku: { type: 'string' },
    name: { type: 'string' },
    price: { type: 'number' },
    stock: { type: 'integer' },
    active: { type: 'boolean' },
  },
}
export const listSchema = { type: 'array', items: item }
export const list = Array.from({ length: 10_000 }, (_, i) => ({
  id: i,
  sku: `SKU-${i.toString(36).toUpperCase()}`,
  name: `Product number ${i}`,
  price: 9.99 + (i % 100),
  stock: i % 17,
  active: i % 3 !== 0,
}))

export default function server(options = {}) {
  const impl = options.impl ?? 'hotpath'
  const app = express()
  if (impl === 'json-mask') {
    app.get('/post', (req, res) => {
      res.json(jsonMask(post, req.query.fields))
    })
    return app
  }
  if (impl === 'express-partial-response') app.use(partialResponse())
  else if (impl === 'hotpath') app.use(fields())
  else if (impl === 'hotpath-schema') app.use(fields({ schema: postSchema }))
  else if (impl !== 'none') throw new Error(`json.mjs: unknown impl ${JSON.stringify(impl)}`)
  app.get('/post', (_req, res) => {
    res.json(post)
  })
  return app
}
