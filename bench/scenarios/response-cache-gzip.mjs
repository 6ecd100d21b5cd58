const gzip = { 'accept-encoding': 'gzip' }

export default {
  title: 'response-cache: 100 KB JSON hit for a gzip client (stored gzip bytes)',
  servers: {
    compression: ['response-cache.mjs', { cache: 'none', compress: 'compression' }],
    'shrink-ray-current': [
      'response-cache.mjs',
      { cache: 'none', compress: 'shrink-ray', warm: ['/json100k'], warmHeaders: gzip },
    ],
    hotpath: [
      'response-cache.mjs',
      { cache: 'hotpath', compress: 'compression', warm: ['/json100k'], warmHeaders: gzip },
    ],
  },
  baseline: 'compression',
  request: { path: '/json100k', headers: gzip },
  budgets: [
    { server: 'hotpath', vs: 'shrink-ray-current', min: 2 },
    { server: 'hotpath', vs: 'compression', min: 4 },
  ],
}
