// Bare node:http serving the same bytes as the Express baselines: the ceiling.
import { json1kText, json100kText, jsonSmallText } from '../payload.mjs'

const bodies = {
  '/json': Buffer.from(json1kText),
  '/end': Buffer.from(json1kText),
  '/json100k': Buffer.from(json100kText),
  '/small': Buffer.from(jsonSmallText),
}

export default function server(options = {}) {
  const fixed = options.body ? Buffer.from(options.body) : null
  return (req, res) => {
    const path = req.url.split('?')[0]
    const body = fixed ?? bodies[path]
    if (!body) {
      res.statusCode = 404
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
    res.end(body)
  }
}
