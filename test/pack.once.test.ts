/**
 * What users get: every package is packed with `npm pack` (its `prepack` builds it), and the
 * tarballs are installed with `npm install` into a scratch consumer outside the repository, as
 * a user installs them before the packages are on the registry. The install runs `--offline`
 * against a registry address nothing listens on, so not one `@hotpath/*` package can come from
 * a registry: each one, and each one's `@hotpath/*` dependencies, come from the tarballs.
 * Third-party dependencies are linked from the repository's own install. The packages are then
 * used from `require()`, from `import`, and from TypeScript with `moduleResolution: node16`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(__dirname, '..')
const packages = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'package.json')),
)
const manifest = (name: string) =>
  JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'))

/** The runtime exports each package must offer, checked in both module systems. */
const EXPECTED: Record<string, string[]> = {
  core: ['routeOf', 'compose', 'parseDuration', 'parseBytes', 'HotpathError', 'createLogger', 'ipKey'],
  'cache-control': ['cacheControl', 'PRESETS'],
  'response-cache': ['responseCache', 'MemoryStore', 'RedisStore'],
  compression: ['compression'],
  profiler: ['profiler'],
  'rate-limit': ['rateLimit', 'MemoryStore', 'RedisStore'],
  dashboard: ['dashboard'],
  tasks: ['createTasks', 'MemoryEngine', 'BullMQEngine'],
  json: ['fields', 'stream', 'parseFields', 'FieldsError'],
  fleet: ['fleet', 'Merger', 'encodePairs', 'decodePairs'],
  overload: ['overload', 'breaker'],
  cache: ['createCache', 'MemoryTier', 'RedisTier'],
}

let consumer: string

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
    (file) => !lstatSync(join(dir, file)).isDirectory(),
  )
}

/** Runs a command in the repository; a failure shows the tail of what it printed (a prepack's tsc errors). */
function run(command: string, args: string[], cwd = root): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args[0]} failed:\n${`${stdout}\n${stderr}`.slice(-3000)}`)
  }
}

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'hotpath-consumer-'))
  const packed = JSON.parse(
    run('npm', [
      'pack',
      '--json',
      '--pack-destination',
      consumer,
      ...packages.flatMap((name) => ['--workspace', `packages/${name}`]),
    ]),
  ) as Array<{ name: string; filename: string }>
  const dependencies: Record<string, string> = {}
  for (const tarball of packed) dependencies[tarball.name] = `file:${join(consumer, tarball.filename)}`
  for (const name of packages) {
    const pkg = manifest(name)
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
      if (!dep.startsWith('@hotpath/')) dependencies[dep] = `file:${join(root, 'node_modules', dep)}`
    }
  }
  // The TypeScript consumer needs the types the declarations refer to (node, express, …).
  for (const types of readdirSync(join(root, 'node_modules', '@types'))) {
    dependencies[`@types/${types}`] = `file:${join(root, 'node_modules', '@types', types)}`
  }
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, dependencies }),
  )
  run(
    'npm',
    [
      'install',
      '--offline',
      '--registry',
      'http://127.0.0.1:9/',
      '--install-links=false',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
    ],
    consumer,
  )
}, 240_000)

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true })
})

it('installed every package from its tarball, none from the repository or a registry', () => {
  for (const name of packages) {
    const dir = join(consumer, 'node_modules', '@hotpath', name)
    expect(lstatSync(dir).isSymbolicLink()).toBe(false)
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name).toBe(`@hotpath/${name}`)
    // No nested copy of a sibling: each @hotpath dependency was met by the installed tarball.
    expect(existsSync(join(dir, 'node_modules', '@hotpath'))).toBe(false)
  }
})

describe.each(packages)('@hotpath/%s as published', (name) => {
  it('declares what a published package needs', () => {
    const pkg = manifest(name)
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' })
    expect(pkg.sideEffects).toBe(false)
    expect(pkg.files).toContain('dist')
    // One Node range and one Express range across packages (the root README states them).
    expect(pkg.engines.node).toBe(manifest('core').engines.node)
    if (pkg.peerDependencies?.express !== undefined)
      expect(pkg.peerDependencies.express).toBe('^4.21.0 || ^5.0.0')
    expect(pkg.license).toBe('MIT')
    expect(pkg.scripts.prepack).toBe('node ../../scripts/build.mjs --for .')
  })

  it('ships its LICENSE', () => {
    const text = readFileSync(join(consumer, 'node_modules', '@hotpath', name, 'LICENSE'), 'utf8')
    expect(text).toMatch(/^MIT License/)
  })

  it('ships source maps that carry their sources, and no map pointing at a missing file', () => {
    const dir = join(consumer, 'node_modules', '@hotpath', name)
    const maps = filesUnder(dir).filter((file) => file.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(0)
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        sources: string[]
        sourcesContent?: string[]
      }
      map.sources.forEach((source, i) => {
        const shipped = existsSync(join(dir, file, '..', source))
        expect({ file, source, ok: shipped || typeof map.sourcesContent?.[i] === 'string' }).toEqual({
          file,
          source,
          ok: true,
        })
      })
    }
  })

  it('ships its README, compiled code and types, and no sources or tests', () => {
    const dir = join(consumer, 'node_modules', '@hotpath', name)
    expect(existsSync(join(dir, 'README.md'))).toBe(true)
    expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true)
    expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true)
    expect(existsSync(join(dir, 'src'))).toBe(false)
    expect(existsSync(join(dir, 'test'))).toBe(false)
  })

  it('works from require()', () => {
    const script = `const m = require('@hotpath/${name}'); console.log(JSON.stringify(${JSON.stringify(EXPECTED[name] ?? [])}.map((k) => typeof m[k])))`
    const out = execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8' })
    for (const kind of JSON.parse(out)) expect(['function', 'object']).toContain(kind)
  })

  it('works from import with named exports', () => {
    const names = EXPECTED[name] ?? []
    const file = join(consumer, `${name}.mjs`)
    writeFileSync(
      file,
      `import { ${names.join(', ')} } from '@hotpath/${name}'\nconsole.log(JSON.stringify([${names.join(', ')}].map((v) => typeof v)))\n`,
    )
    const out = execFileSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8' })
    expect(JSON.parse(out)).toHaveLength(names.length)
    for (const kind of JSON.parse(out)) expect(['function', 'object']).toContain(kind)
  })
})

it('type-checks a TypeScript consumer against the packed declarations', () => {
  const lines = [
    "import express from 'express'",
    "import { cacheControl } from '@hotpath/cache-control'",
    "import { compression } from '@hotpath/compression'",
    "import { compose, parseDuration, type StatsSource } from '@hotpath/core'",
    "import { dashboard } from '@hotpath/dashboard'",
    "import { profiler } from '@hotpath/profiler'",
    "import { rateLimit } from '@hotpath/rate-limit'",
    "import { responseCache } from '@hotpath/response-cache'",
    'const app = express()',
    'const prof = profiler({ registry: false })',
    "const limiter = rateLimit({ limit: 10, window: '1m' })",
    'const compress = compression()',
    "const cache = responseCache({ ttl: '1m' })",
    "app.use(compose(prof, limiter, compress, cacheControl({ rules: [{ match: '/**', preset: 'api' }] })))",
    "app.get('/x', cache.route({ ttl: '5m' }), (_req, res) => { res.json({ ms: parseDuration('5m') }) })",
    "app.use('/performance', dashboard({ auth: 'none', sources: { cache, compression: compress, profiler: prof, rateLimit: limiter } }))",
    'const sources: StatsSource[] = [prof, limiter, compress, cache]',
    'export { sources }',
  ]
  writeFileSync(join(consumer, 'consumer.ts'), `${lines.join('\n')}\n`)
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  )
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' })
  } catch (error) {
    throw new Error(`the consumer does not type-check:\n${(error as { stdout?: string }).stdout ?? error}`)
  }
}, 60_000)
