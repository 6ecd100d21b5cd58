// Output sizes of @hotpath/compression beside the `compression` package for the same bodies,
// codings and levels, measured on the wire: `node bench/servers/compression-sizes.mjs`
// (after `npx tsc -b packages/core packages/compression`). Not a server module; it starts both
// servers from compression.mjs in this process on 127.0.0.1 and prints a markdown table.
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { json1kText, json100kText } from '../payload.mjs'
import server from './compression.mjs'

function listen(app) {
  return new Promise((resolve) => {
    const s = http.createServer(app).listen(0, '127.0.0.1', () => resolve(s))
  })
}

function fetchSize(port, path, encoding) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, headers: { 'accept-encoding': encoding } },
      (res) => {
        let size = 0
        res.on('data', (chunk) => {
          size += chunk.length
        })
        res.on('end', () => resolve({ size, coding: res.headers['content-encoding'] ?? 'identity' }))
      },
    )
    req.on('error', reject)
  })
}

export async function sizes() {
  const hot = await listen(server({ impl: 'hotpath' }))
  const pkg = await listen(server({ impl: 'compression' }))
  const rows = []
  try {
    for (const [path, text] of [
      ['/json', json1kText],
      ['/json100k', json100kText],
    ]) {
      for (const encoding of ['gzip', 'br', 'deflate']) {
        const a = await fetchSize(hot.address().port, path, encoding)
        const b = await fetchSize(pkg.address().port, path, encoding)
        rows.push({ path, bytes: Buffer.byteLength(text), encoding, hotpath: a, compression: b })
      }
    }
  } finally {
    hot.close()
    pkg.close()
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await sizes()
  console.log('| body | identity bytes | coding | @hotpath/compression | compression | difference |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows) {
    const diff = r.hotpath.size - r.compression.size
    console.log(
      `| ${r.path} | ${r.bytes} | ${r.encoding} | ${r.hotpath.size} (${r.hotpath.coding}) | ${r.compression.size} (${r.compression.coding}) | ${diff >= 0 ? '+' : ''}${diff} |`,
    )
  }
}
