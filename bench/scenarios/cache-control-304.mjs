// Clients revalidating with a matching If-None-Match: bare Express answers 304 through
// req.fresh; cache-control counts the 304 and the bytes it saved on top.
import createETag from 'etag'
import { json1kText } from '../payload.mjs'

const etag = createETag(Buffer.from(json1kText), { weak: true })

export default {
  title: 'conditional GET (matching If-None-Match → 304) on the 1 KB route',
  servers: {
    express: ['express-basic.mjs', {}],
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'cache-control': ['cache-control.mjs', {}],
  },
  baseline: 'express+noop',
  request: { path: '/json', headers: { 'if-none-match': etag } },
  // Every answer must be a 304 for the scenario to mean anything.
  expectStatus: 304,
  budgets: [{ server: 'cache-control', vs: 'express+noop', min: 0.95 }],
}
