/**
 * A fresh clone installs without a C compiler: `npm ci --ignore-scripts` and then `npm start`
 * serve the example.
 *
 * Why this is trustworthy without downloading anything (tests reach 127.0.0.1 only):
 * - The lockfile is read as npm ci reads it. Every package in it that has an install script is
 *   either optional (npm ci carries on when it fails to build) or named below with the reason it
 *   never compiles; a new package that would compile on `npm install` fails the first test.
 * - The second test builds the tree `npm ci --ignore-scripts` would give: the tracked files only
 *   (`git ls-files`, with new files not yet committed but not ignored: what the next commit holds;
 *   nothing built or ignored comes along), and a node_modules that links the
 *   repository's installed packages — the same versions the lockfile pins — except that every
 *   package with an install script is copied WITHOUT what its script produced (node-gyp's
 *   `build/`): exactly a package whose script did not run. `@hotpath/*` point into the copy.
 *   Then the real `npm start` runs there (build, then the example) and is asked for a page.
 *   Compiled outputs of the repository's own build are copied along with their timestamps, so
 *   `tsc -b` rebuilds only what changed (the clean build itself is what `npm test` runs first).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort } from './helpers/redis-server'

const root = join(__dirname, '..')

interface LockEntry {
  version?: string
  optional?: boolean
  dev?: boolean
  hasInstallScript?: boolean
  link?: boolean
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>
}

/** Packages whose install script is not a compile step on this project's platforms, and why. */
const SCRIPTS_THAT_DO_NOT_COMPILE: Record<string, string> = {
  // postinstall writes nx's own cache; lerna's dependency, dev only.
  'node_modules/nx': 'nx postinstall: no native build',
  // Picks its prebuilt binary from an optional @parcel/watcher-<platform> package; dev only.
  'node_modules/@parcel/watcher': 'uses a prebuilt optional package; dev only (lerna/nx)',
}

describe('a fresh clone', () => {
  it('has no install script in its lockfile that must compile for npm ci to succeed', () => {
    const scripted = Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript)
    const mustBuild = scripted
      .filter(([path, entry]) => !entry.optional && SCRIPTS_THAT_DO_NOT_COMPILE[path] === undefined)
      .map(([path]) => path)
    expect(mustBuild).toEqual([])
    // The bench's peers (iltorb, node-zopfli-es, …) live in bench/package-lock.json only.
    expect(Object.keys(lock.packages).filter((path) => /\/(iltorb|node-zopfli-es)$/.test(path))).toEqual([])
  })

  describe('after npm ci --ignore-scripts', () => {
    let clone: string
    let child: ChildProcess | undefined

    beforeAll(() => {
      clone = mkdtempSync(join(tmpdir(), 'hotpath-clone-'))
      const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
        cwd: root,
        encoding: 'utf8',
      })
        .split('\0')
        .filter((file) => file !== '' && existsSync(join(root, file)))
      for (const file of tracked) {
        mkdirSync(dirname(join(clone, file)), { recursive: true })
        cpSync(join(root, file), join(clone, file), { preserveTimestamps: true })
      }
      // The repository's own build outputs, timestamps kept: tsc -b then rebuilds only what changed.
      for (const parent of ['packages', 'examples']) {
        for (const name of readdirSync(join(clone, parent))) {
          for (const output of ['dist', 'tsconfig.tsbuildinfo']) {
            const from = join(root, parent, name, output)
            if (existsSync(from))
              cpSync(from, join(clone, parent, name, output), { recursive: true, preserveTimestamps: true })
          }
        }
      }
      const modules = join(clone, 'node_modules')
      mkdirSync(join(modules, '@hotpath'), { recursive: true })
      const scripted = new Set(
        Object.entries(lock.packages)
          .filter(([path, entry]) => entry.hasInstallScript && path.split('node_modules/').length === 2)
          .map(([path]) => path.slice('node_modules/'.length)),
      )
      const installed = readdirSync(join(root, 'node_modules')).flatMap((entry) =>
        entry.startsWith('@')
          ? readdirSync(join(root, 'node_modules', entry)).map((name) => `${entry}/${name}`)
          : [entry],
      )
      for (const name of installed) {
        if (name.startsWith('.') || name.startsWith('@hotpath/')) continue
        const from = join(root, 'node_modules', name)
        const to = join(modules, name)
        mkdirSync(dirname(to), { recursive: true })
        if (scripted.has(name)) {
          // As installed with --ignore-scripts: the package's files, not what its script built.
          cpSync(from, to, {
            recursive: true,
            filter: (path) => !/[/\\]build(?:[/\\]|$)/.test(path.slice(from.length)),
          })
        } else symlinkSync(from, to)
      }
      // Workspaces, as npm links them: into the clone, never the checkout.
      for (const dir of ['packages', 'examples']) {
        for (const name of readdirSync(join(clone, dir))) {
          const manifest = join(clone, dir, name, 'package.json')
          if (!existsSync(manifest)) continue
          const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }
          mkdirSync(dirname(join(modules, pkg.name)), { recursive: true })
          symlinkSync(join(clone, dir, name), join(modules, pkg.name))
        }
      }
    }, 60_000)

    afterAll(() => {
      child?.kill('SIGTERM')
      if (clone) rmSync(clone, { recursive: true, force: true })
    })

    it('does not have better-sqlite3 built (its install script did not run)', () => {
      expect(existsSync(join(clone, 'node_modules', 'better-sqlite3', 'package.json'))).toBe(true)
      expect(existsSync(join(clone, 'node_modules', 'better-sqlite3', 'build'))).toBe(false)
    })

    it('runs npm start: it builds, prints what to curl, and serves the example', async () => {
      const port = await freePort()
      child = spawn('npm', ['start'], {
        cwd: clone,
        env: {
          ...process.env,
          PORT: String(port),
          HOTPATH_TOKEN: 'fresh-clone-token',
          npm_config_offline: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
      let output = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start banner; got: ${output}`)), 150_000)
        const take = (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes('token: fresh-clone-token')) {
            clearTimeout(timer)
            resolve()
          }
        }
        child?.stdout?.on('data', take)
        child?.stderr?.on('data', take)
        child?.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${output}`)))
      })
      try {
        expect(output).toContain(`curl -i http://localhost:${port}/api/products`)
        const res = await fetch(`http://127.0.0.1:${port}/api/products`)
        expect(res.status).toBe(200)
        expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(20)
      } finally {
        // npm start runs node under npm: the group is stopped together.
        if (child?.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
        child = undefined
      }
    }, 180_000)
  })
})
