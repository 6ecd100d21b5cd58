// Runs one benchmark server in its own process: loads the server module, listens on
// 127.0.0.1, reports its port, and answers CPU-usage probes over IPC.
import http from 'node:http'
import { pathToFileURL } from 'node:url'

const [modulePath, optionsJson] = process.argv.slice(2)
const options = JSON.parse(optionsJson || '{}')
const mod = await import(pathToFileURL(modulePath).href)
const made = await mod.default(options)
const listener = typeof made === 'function' ? made : made.listener
const close = typeof made === 'function' ? undefined : made.close

let requests = 0
const server = http.createServer((req, res) => {
  requests++
  listener(req, res)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address()
  if (typeof mod.warmup === 'function') await mod.warmup(`http://127.0.0.1:${port}`, options)
  process.send({ type: 'ready', port })
})

process.on('message', async (message) => {
  if (message.type === 'probe') {
    const cpu = process.cpuUsage()
    process.send({
      type: 'probe',
      id: message.id,
      cpu: cpu.user + cpu.system,
      requests,
      rss: process.memoryUsage().rss,
    })
  } else if (message.type === 'stop') {
    server.closeAllConnections?.()
    server.close()
    if (close) await close()
    // bench/instructions.mjs: collect what the run allocated before the count ends.
    if (message.gc && typeof globalThis.gc === 'function') globalThis.gc()
    process.exit(0)
  }
})
