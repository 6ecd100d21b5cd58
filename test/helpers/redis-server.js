// Starts and stops real redis-server processes on free loopback ports, for tests.
// Plain CommonJS so that jest's global setup can load it without a transform.

const { spawn, spawnSync, execFileSync } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

function redisServerPath() {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : null
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    // Cluster nodes also bind port + 10000 for their bus, so stay below 55535.
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => (port < 55535 ? resolve(port) : resolve(freePort())))
    })
  })
}

function ping(port, timeoutMs = 200) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

async function waitFor(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * Starts one redis-server. Returns a handle with `url`, `port`, `stop()`, `start()`,
 * `restart()`, `pause(ms)` (DEBUG SLEEP: the server stops answering for ms) and
 * `clientPause(ms)` (CLIENT PAUSE).
 */
async function startRedis(options = {}) {
  const bin = redisServerPath()
  if (!bin) throw new Error('redis-server is not on PATH (apt-get install redis-server)')
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-redis-'))
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--enable-debug-command',
    'local',
    ...(options.args ?? []),
  ]
  let child = null
  const handle = {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child ? child.pid : null
    },
    async start() {
      if (child) return
      child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] })
      const mine = child
      mine.on('exit', () => {
        if (child === mine) child = null
      })
      await waitFor(() => ping(port), `redis-server on port ${port}`)
    },
    async stop() {
      const current = child
      if (!current) return
      child = null
      await new Promise((resolve) => {
        current.once('exit', resolve)
        current.kill('SIGKILL')
      })
    },
    async restart() {
      await handle.stop()
      await handle.start()
    },
    /** Blocks the server for `ms` (it accepts connections but answers nothing). */
    pause(ms) {
      return cli(port, ['DEBUG', 'SLEEP', String(ms / 1000)], { wait: false })
    },
    /** CLIENT PAUSE ms ALL: every client command waits. */
    clientPause(ms) {
      return cli(port, ['CLIENT', 'PAUSE', String(ms), 'ALL'])
    },
    cli: (...command) => cli(port, command),
    async destroy() {
      await handle.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await handle.start()
  return handle
}

function cli(port, command, { wait = true } = {}) {
  if (!wait) {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...command], { stdio: 'ignore' })
    child.unref()
    return Promise.resolve('')
  }
  return Promise.resolve(
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...command], {
      encoding: 'utf8',
    }).trim(),
  )
}

/**
 * Starts a real 3-master Redis Cluster on loopback and waits for `cluster_state:ok`.
 * Returns `{ nodes: [{ host, port }], stop() }`.
 */
async function startRedisCluster(masters = 3, extraArgs = []) {
  const servers = []
  for (let i = 0; i < masters; i++) {
    const port = await freePort()
    servers.push(
      await startRedis({
        port,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          ...extraArgs,
        ],
      }),
    )
  }
  execFileSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: 'ignore' },
  )
  for (const server of servers) {
    await waitFor(
      async () => (await server.cli('CLUSTER', 'INFO')).includes('cluster_state:ok'),
      'cluster_state:ok',
      20_000,
    )
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.destroy()))
    },
  }
}

module.exports = { startRedis, startRedisCluster, redisServerPath, freePort }
