// Starts and stops a real MariaDB server on a free loopback port in a throw-away data
// directory, for tests. Plain CommonJS, like redis-server.js. As root the server runs with
// `--user=root` (mariadbd refuses root otherwise); the data directory is removed on stop.

const { spawn, spawnSync } = require('node:child_process')
const { existsSync, mkdtempSync, rmSync } = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { freePort } = require('./redis-server')

const DATABASE = 'hotpath'

function which(name, fallbacks) {
  for (const candidate of fallbacks) if (existsSync(candidate)) return candidate
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : null
}

function mariadbPaths() {
  const server = which('mariadbd', ['/usr/sbin/mariadbd'])
  const install = which('mariadb-install-db', ['/usr/bin/mariadb-install-db'])
  return server && install ? { server, install } : null
}

function hasMariadb() {
  return mariadbPaths() !== null
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/** True once the server sends its handshake packet (protocol version 10) on the port. */
function handshake(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(300, () => done(false))
    socket.on('error', () => done(false))
    socket.on('data', (data) => done(data.length > 4 && data[4] === 10))
  })
}

/**
 * Starts one MariaDB server with a `hotpath` database; `root` logs in over TCP with no password
 * (the install is thrown away). Returns `{ host, port, user, database, connection, stop() }`.
 */
async function startMariadb() {
  const paths = mariadbPaths()
  if (!paths) throw new Error('MariaDB is not installed (apt-get install mariadb-server)')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-mariadb-'))
  const data = path.join(dir, 'data')
  const user = isRoot() ? ['--user=root'] : []
  const install = spawnSync(
    paths.install,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      ...user,
    ],
    { encoding: 'utf8' },
  )
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`)
  }
  const port = await freePort()
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${path.join(dir, 'mysqld.sock')}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-grant-tables',
    '--innodb-buffer-pool-size=64M',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
    '--skip-log-bin',
    `--log-error=${path.join(dir, 'error.log')}`,
    ...user,
  ]
  let child = spawn(paths.server, args, { stdio: 'ignore' })
  let exited = false
  child.on('exit', () => {
    exited = true
  })
  const deadline = Date.now() + 60_000
  while (!(await handshake(port))) {
    if (exited || Date.now() > deadline) {
      const log = spawnSync('tail', ['-n', '20', path.join(dir, 'error.log')], { encoding: 'utf8' }).stdout
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`mariadbd did not start on port ${port}: ${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const connection = { host: '127.0.0.1', port, user: 'root', password: '', database: DATABASE }
  const handle = {
    host: '127.0.0.1',
    port,
    user: 'root',
    database: DATABASE,
    connection,
    get pid() {
      return child ? child.pid : null
    },
    async stop() {
      const current = child
      child = null
      if (current && !exited) {
        await new Promise((resolve) => {
          current.once('exit', resolve)
          current.kill('SIGKILL')
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  // --skip-grant-tables: any login works, so the database is created on the first connection.
  const mysql = require('mysql2/promise')
  const admin = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' })
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`)
  } finally {
    await admin.end()
  }
  return handle
}

module.exports = { startMariadb, hasMariadb }
