/**
 * Real app processes for multi-instance tests: the packages' sources are transpiled on the fly
 * (recursively, no type check) into a temporary node_modules beside a fixture script, which runs
 * in its own Node process and answers calls from the test over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(__dirname, '../..')

function transpileDir(source: string, target: string): void {
  mkdirSync(target, { recursive: true })
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name)
    if (entry.isDirectory()) {
      transpileDir(from, join(target, entry.name))
    } else if (entry.name.endsWith('.ts')) {
      const { outputText } = ts.transpileModule(readFileSync(from, 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      })
      writeFileSync(join(target, entry.name.replace(/\.ts$/, '.js')), outputText)
    }
  }
}

export interface Fixture {
  readonly dir: string
  cleanup(): void
}

/**
 * Copies `script` into a scratch directory whose node_modules holds every `@hotpath/*` package
 * transpiled from source (with its `assets/` where it has one) and links to the repository's
 * third-party modules.
 */
export function prepareFixture(script: string): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-app-'))
  const modules = join(dir, 'node_modules')
  mkdirSync(join(modules, '@hotpath'), { recursive: true })
  for (const name of readdirSync(join(ROOT, 'packages'))) {
    const pkg = join(ROOT, 'packages', name)
    const target = join(modules, '@hotpath', name)
    transpileDir(join(pkg, 'src'), join(target, 'src'))
    writeFileSync(
      join(target, 'package.json'),
      JSON.stringify({ name: `@hotpath/${name}`, main: 'src/index.js' }),
    )
    try {
      symlinkSync(join(pkg, 'assets'), join(target, 'assets'))
    } catch {
      // no assets folder
    }
  }
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '@hotpath' || entry.startsWith('.')) continue
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry))
  }
  copyFileSync(script, join(dir, 'app.js'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface AppProcess {
  readonly child: ChildProcess
  readonly pid: number
  call<T = unknown>(method: string, args?: unknown): Promise<T>
  /** Asks the process to close what it opened, then waits for it to exit (kills it after 5 s). */
  exit(): Promise<void>
  kill(): void
}

export function startApp(fixture: Fixture, env: Record<string, string>): Promise<AppProcess> {
  const child = fork(join(fixture.dir, 'app.js'), [], {
    cwd: fixture.dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000)
  })
  let seq = 0
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  child.on(
    'message',
    (msg: { id?: number; ok?: boolean; value?: unknown; error?: string; ready?: boolean }) => {
      if (typeof msg.id !== 'number') return
      const w = waiting.get(msg.id)
      if (!w) return
      waiting.delete(msg.id)
      if (msg.ok) w.resolve(msg.value)
      else w.reject(new Error(msg.error))
    },
  )
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`app process exited (${code}): ${stderr}`))
    waiting.clear()
  })
  const app: AppProcess = {
    child,
    pid: child.pid as number,
    call(method, args) {
      return new Promise((resolve, reject) => {
        const id = ++seq
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
        child.send({ id, method, args })
      })
    },
    async exit() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      app.call('exit').catch(() => undefined)
      await exited
      clearTimeout(timer)
    },
    kill() {
      child.kill('SIGKILL')
    },
  }
  return new Promise((resolve, reject) => {
    child.once('message', (msg: { ready?: boolean }) =>
      msg.ready ? resolve(app) : reject(new Error('bad start')),
    )
    child.once('exit', (code) => reject(new Error(`app process exited at start (${code}): ${stderr}`)))
  })
}
