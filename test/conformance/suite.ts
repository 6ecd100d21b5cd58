/**
 * Drives the HTTP cache conformance suite (http-tests/cache-tests, vendored read-only in
 * `../shared/http-cache-tests`): its origin server and its CLI run as child processes from a
 * scratch copy whose `node_modules` is this repository's (the CLI imports `undici`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(__dirname, '..', '..')

export type Outcome =
  | 'pass'
  | 'fail'
  | 'optional_fail'
  | 'yes'
  | 'no'
  | 'setup_fail'
  | 'harness_fail'
  | 'dependency_fail'
  | 'retry'
  | 'untested'

export interface Classified {
  readonly kind: 'required' | 'optimal' | 'check'
  readonly result: Outcome
}

export type Results = Record<string, Classified>

/** Where the suite lives: `HTTP_CACHE_TESTS`, else `../shared/http-cache-tests` beside the checkout. */
export function suiteSource(): string | undefined {
  const dir = process.env.HTTP_CACHE_TESTS ?? path.resolve(ROOT, '..', 'shared', 'http-cache-tests')
  return existsSync(path.join(dir, 'test-engine', 'cli.mjs')) ? dir : undefined
}

/** A writable copy of the suite's engine and tests, resolving packages from this checkout. */
export function prepareSuite(source: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'hotpath-cache-tests-'))
  for (const part of ['test-engine', 'tests', 'package.json']) {
    cpSync(path.join(source, part), path.join(dir, part), { recursive: true })
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface Origin {
  readonly url: string
  stop(): Promise<void>
}

/** Starts the suite's origin server on a free port. */
export function startOrigin(dir: string): Promise<Origin> {
  const child: ChildProcess = spawn(process.execPath, ['test-engine/server/server.mjs'], {
    cwd: dir,
    env: {
      ...process.env,
      npm_config_protocol: 'http',
      npm_config_port: '0',
      npm_config_pidfile: path.join(dir, 'server.pid'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }
    })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`the suite's origin server did not start: ${out}`))
    }, 10_000)
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /Listening on http:\/\/\S+:(\d+)\//.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve({ url: `http://127.0.0.1:${match[1]}`, stop })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the suite's origin server exited (${code}): ${out}`))
    })
  })
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${args.join(' ')} failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
  })
}

/** Classifies a raw result set (the CLI's JSON, or a published `results/*.json`). */
export async function classify(dir: string, raw: string): Promise<Results> {
  const file = path.join(dir, `results-${process.pid}-${Date.now()}-${Math.random()}.json`)
  writeFileSync(file, raw)
  try {
    const out = await run([path.join(__dirname, 'classify.mjs'), dir, file], dir, process.env, 30_000)
    return JSON.parse(out) as Results
  } finally {
    rmSync(file, { force: true })
  }
}

/** Runs the suite's CLI against `base` (every test) and returns the classified results. */
export async function runSuite(dir: string, base: string): Promise<Results> {
  const env = { ...process.env, npm_config_base: base, npm_config_id: '', npm_package_config_id: '' }
  const out = await run(['--no-warnings', 'test-engine/cli.mjs'], dir, env, 240_000)
  return classify(dir, out.slice(out.indexOf('{')))
}

/** Runs one test with the CLI's request/response dump, for debugging (`CONFORMANCE_ID=<id>`). */
export function runOne(dir: string, base: string, id: string): Promise<string> {
  const env = { ...process.env, npm_config_base: base, npm_config_id: id, npm_package_config_id: id }
  return run(['--no-warnings', 'test-engine/cli.mjs'], dir, env, 60_000)
}

export interface Counts {
  requiredPass: number
  requiredFail: number
  optimalPass: number
  optimalFail: number
  /** Required tests not reached: a setup check or a test they depend on failed. */
  requiredOther: number
}

export function countOf(results: Results): Counts {
  const c: Counts = { requiredPass: 0, requiredFail: 0, optimalPass: 0, optimalFail: 0, requiredOther: 0 }
  for (const { kind, result } of Object.values(results)) {
    if (kind === 'required') {
      if (result === 'pass') c.requiredPass++
      else if (result === 'fail') c.requiredFail++
      else c.requiredOther++
    } else if (kind === 'optimal') {
      if (result === 'pass') c.optimalPass++
      else if (result === 'optional_fail') c.optimalFail++
    }
  }
  return c
}

/** Whether a result counts as passing (a check answered "yes" counts too). */
export function passed(c: Classified | undefined): boolean {
  return c !== undefined && (c.result === 'pass' || c.result === 'yes')
}
