// Clients revalidating with If-None-Match: bare Express answers 304 through req.fresh;
// cache-control does it with its own linear-time validator parser and counts the bytes saved.
const etag = 'W/"3ff-placeholder"'
export default {
  title: 'conditional GET (If-None-Match matching) on the 1 KB route',
  servers: {
    express: ['express-basic.mjs', {}],
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'cache-control': ['cache-control.mjs', {}],
  },
  baseline: 'express+noop',
  request: { path: '/json', headers: { 'if-none-match': etag } },
  budgets: [{ server: 'cache-control', vs: 'express+noop', min: 0.95 }],
}
