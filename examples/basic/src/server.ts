import { createApp } from './app'

const port = Number(process.env.PORT) || 3000
const { app, token, close } = createApp({ token: process.env.HOTPATH_TOKEN })

const server = app.listen(port, () => {
  const base = `http://localhost:${port}`
  console.log(`hotpath example shop listening on ${base}

Try:
  curl -i ${base}/api/products                      # first a miss, then Cache-Status: hotpath; hit
  curl -i -H 'Accept-Encoding: gzip' ${base}/api/products --output -
  curl -i ${base}/api/products/7
  curl -i -X PUT -H 'Content-Type: application/json' -d '{"price": 9.5}' ${base}/api/products/7
  curl -i ${base}/api/reviews                        # SQLite with a deliberate N+1: see the dashboard's Queries panel
  curl -i ${base}/static/app.3f9a1c2b.js              # Cache-Control: public, max-age=31536000, immutable
  curl -i ${base}/health                              # Cache-Control: no-store
  curl -i -X POST -H 'Content-Type: application/json' -d '{"month":"2024-07"}' ${base}/api/reports
                                                       # 202 + the task id; open ${base}/reports/<id> for its progress bar
  curl -i -X POST -H 'Content-Type: application/json' -d '{"username":"demo","password":"nope"}' ${base}/login
                                                       # the 6th try within 15 minutes answers 429

Dashboard: ${base}/performance/   (sign in with the token below)
  token: ${token}
  curl -H 'Authorization: Bearer ${token}' ${base}/performance/dashboard
  curl -H 'Authorization: Bearer ${token}' ${base}/performance/metrics
`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    void close().finally(() => process.exit(0))
  })
}
