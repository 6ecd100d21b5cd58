// Starts and stops a real PostgreSQL server on a free loopback port in a throw-away data
// directory, for tests. Plain CommonJS, like redis-server.js. PostgreSQL refuses to run as
// root, so as root the data directory is handed to the `postgres` system user (created by the
// Debian package) and the server runs as that user through `runuser`.

const { spawn, spawnSync } = require('node:child_process')
const {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { freePort } = require('./redis-server')

const USER = 'hotpath'
const DATABASE = 'postgres'

function postgresBinDir() {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions.length > 0) return path.join(root, versions[0], 'bin')
  }
  const found = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' })
  return found.status === 0 ? path.dirname(found.stdout.trim()) : null
}

/** The uid/gid to run as: the current user unless root, then the `postgres` system user. */
function runAs() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0) return null
  return { name: 'postgres', uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

function command(bin, args, user) {
  return user ? ['runuser', ['-u', user.name, '--', bin, ...args]] : [bin, args]
}

function hasPostgres() {
  const bin = postgresBinDir()
  if (!bin) return false
  if (typeof process.getuid === 'function' && process.getuid() === 0 && !runAs()) return false
  return true
}

async function waitFor(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * Starts one PostgreSQL server (trust authentication on 127.0.0.1 only, no fsync: the data is
 * thrown away). Returns `{ host, port, user, database, url, connection, stop() }`.
 */
async function startPostgres() {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const user = runAs()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-pg-'))
  const data = path.join(dir, 'data')
  if (user) {
    chownSync(dir, user.uid, user.gid)
    chmodSync(dir, 0o700)
  }
  const [initBin, initArgs] = command(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    user,
  )
  const init = spawnSync(initBin, initArgs, { encoding: 'utf8' })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`)
  }
  const port = await freePort()
  const [serverBin, serverArgs] = command(
    path.join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
    ],
    user,
  )
  let child = spawn(serverBin, serverArgs, { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr.on('data', (d) => {
    log = (log + d.toString()).slice(-4000)
  })
  let exited = false
  child.on('exit', () => {
    exited = true
  })
  const isReady = path.join(bin, 'pg_isready')
  await waitFor(
    () => {
      if (exited) throw new Error(`postgres exited: ${log}`)
      return spawnSync(isReady, ['-h', '127.0.0.1', '-p', String(port), '-U', USER, '-q']).status === 0
    },
    `postgres on port ${port}`,
    30_000,
  )
  const handle = {
    host: '127.0.0.1',
    port,
    user: USER,
    database: DATABASE,
    url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`,
    connection: { host: '127.0.0.1', port, user: USER, database: DATABASE },
    get pid() {
      return child ? child.pid : null
    },
    /** Synchronous stop for an exiting process (no await possible): kills the server, removes its data. */
    kill() {
      const current = child
      child = null
      try {
        const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
        if (pid > 0) process.kill(pid, 'SIGKILL')
      } catch {
        // Not started or already gone.
      }
      if (current && !exited) current.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
    async stop() {
      const current = child
      child = null
      if (current && !exited) {
        await new Promise((resolve) => {
          current.once('exit', resolve)
          // SIGQUIT: immediate shutdown; the data directory is removed next anyway. runuser
          // forwards the signal to the server it started.
          current.kill('SIGQUIT')
          setTimeout(() => current.kill('SIGKILL'), 5000).unref()
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return handle
}

module.exports = { startPostgres, hasPostgres, postgresBinDir }
