/**
 * Runs the fixture app in its own process (the package sources transpiled on the fly, no
 * build step) and offers it load from this one: open loop, a fixed arrival rate, as real
 * users arrive whether or not the server keeps up.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(__dirname, '../../..')

function transpilePackage(name: string, into: string): void {
  const source = join(ROOT, 'packages', name, 'src')
  const target = join(into, 'node_modules', '@hotpath', name)
  mkdirSync(target, { recursive: true })
  writeFileSync(join(target, 'package.json'), JSON.stringify({ name: `@hotpath/${name}`, main: 'index.js' }))
  for (const file of readdirSync(source).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(source, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    })
    writeFileSync(join(target, file.replace(/\.ts$/, '.js')), outputText)
  }
}

export interface App {
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** One build of the sources per suite; every app of the suite runs from it. */
export function buildDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-overload-'))
  transpilePackage('core', dir)
  transpilePackage('overload', dir)
  for (const file of readdirSync(join(__dirname, 'fixtures'))) {
    writeFileSync(join(dir, file), readFileSync(join(__dirname, 'fixtures', file)))
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function startApp(dir: string, env: Record<string, string>, script = 'app.js'): Promise<App> {
  const child = fork(join(dir, script), [], {
    env: { ...process.env, ...env, NODE_PATH: `${join(dir, 'node_modules')}:${join(ROOT, 'node_modules')}` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  return new Promise((resolveApp, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`app process exited with ${code}`)))
    child.once('message', (message) => {
      const url = `http://127.0.0.1:${(message as { port?: number }).port ?? 0}`
      resolveApp({
        url,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done()
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
            child.once('exit', () => {
              clearTimeout(timer)
              done()
            })
            child.send('stop')
          }),
      })
    })
  })
}

export interface Sample {
  readonly path: string
  readonly status: number
  readonly ms: number
  readonly retryAfter: string | undefined
}

/** GET `url` once; status 0 for a transport error or a timeout. */
export function get(agent: http.Agent, url: string, timeoutMs = 5000): Promise<Omit<Sample, 'path'>> {
  const started = performance.now()
  return new Promise((done) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () =>
        done({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          retryAfter: res.headers['retry-after'] as string | undefined,
        }),
      )
      res.on('error', () => done({ status: 0, ms: performance.now() - started, retryAfter: undefined }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => done({ status: 0, ms: performance.now() - started, retryAfter: undefined }))
  })
}

/**
 * Open-loop load: `rate` requests per second for `seconds`, paths taken in turn from `paths`.
 * Every response (or failure) is one sample.
 */
export async function offer(
  base: string,
  rate: number,
  seconds: number,
  paths: readonly string[],
): Promise<Sample[]> {
  // Enough sockets that the client never caps how many requests the server holds at once.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2000 })
  const samples: Sample[] = []
  const pending: Promise<void>[] = []
  const total = Math.round(rate * seconds)
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    const path = paths[i % paths.length] as string
    pending.push(get(agent, `${base}${path}`).then((s) => void samples.push({ ...s, path })))
  }
  await Promise.all(pending)
  agent.destroy()
  return samples
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}
