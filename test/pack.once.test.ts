/**
 * What users get: every package is packed with `npm pack`, unpacked into a scratch consumer
 * outside the repository, and used from `require()`, from `import`, and from TypeScript with
 * `moduleResolution: node16` — against the packed files only.
 */
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
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
}

let consumer: string

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'hotpath-consumer-'))
  const modules = join(consumer, 'node_modules')
  mkdirSync(join(modules, '@hotpath'), { recursive: true })
  // Third-party dependencies come from the repository's install; @hotpath/* only from the tarballs.
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === '@hotpath' || entry.startsWith('.')) continue
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry))
  }
  const packed = JSON.parse(
    execFileSync(
      'npm',
      [
        'pack',
        '--json',
        '--pack-destination',
        consumer,
        ...packages.flatMap((name) => ['--workspace', `packages/${name}`]),
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ),
  ) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>
  for (const tarball of packed) {
    const target = join(modules, tarball.name)
    mkdirSync(target, { recursive: true })
    execFileSync('tar', ['-xzf', join(consumer, tarball.filename), '-C', target, '--strip-components=1'])
  }
}, 120_000)

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true })
})

describe.each(packages)('@hotpath/%s as published', (name) => {
  it('declares what a published package needs', () => {
    const pkg = manifest(name)
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' })
    expect(pkg.sideEffects).toBe(false)
    expect(pkg.files).toContain('dist')
    expect(pkg.engines.node).toMatch(/^>=/)
    expect(pkg.peerDependencies.express).toBe('^4.21.0 || ^5.0.0')
    expect(pkg.license).toBe('MIT')
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
  execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' })
}, 60_000)
