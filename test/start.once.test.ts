/**
 * The quick start's second half: the built example starts, prints what to curl, and serves it.
 * (`npm test` builds first, so `examples/basic/dist` is current.)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './helpers/redis-server'

const SERVER = join(__dirname, '..', 'examples', 'basic', 'dist', 'server.js')

/** Starts the built example on a free port (with `flags` for Node) and resolves with its port and banner. */
async function start(
  flags: string[],
  token: string,
): Promise<{ child: ChildProcess; port: number; output: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, [...flags, SERVER], {
    env: { ...process.env, PORT: String(port), HOTPATH_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start banner; got: ${output}`)), 15_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(`token: ${token}`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)))
  })
  return { child, port, output }
}

/** The 1-based line of `needle` in a file of the example. */
function lineIn(file: string, needle: string): number {
  const lines = readFileSync(join(__dirname, '..', 'examples', 'basic', file), 'utf8').split('\n')
  const i = lines.findIndex((line) => line.includes(needle))
  if (i === -1) throw new Error(`${needle} is not in ${file}`)
  return i + 1
}

describe('npm start', () => {
  let child: ChildProcess | undefined
  afterEach(() => {
    child?.kill('SIGTERM')
  })

  it('starts the example on PORT and prints the URLs and the dashboard token', async () => {
    const started = await start([], 'start-test-token')
    child = started.child
    const { port, output } = started
    expect(output).toContain(`listening on http://localhost:${port}`)
    expect(output).toContain(`curl -i http://localhost:${port}/api/products`)
    const res = await fetch(`http://127.0.0.1:${port}/api/products`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(20)
  })

  // Node's own stack formatter in a plain process (jest formats stacks another way): the call
  // site of the example's N+1 is the line of the loop, in the built file, or in its TypeScript
  // source when Node applies the source maps.
  it.each([
    ['the built file', [], 'dist/reviews.js'],
    ['the source, under --enable-source-maps', ['--enable-source-maps'], 'src/reviews.ts'],
  ])('names the N+1 call site of the reviews route in %s', async (_name, flags, file) => {
    const token = 'start-test-token-sites'
    const started = await start(flags, token)
    child = started.child
    expect((await fetch(`http://127.0.0.1:${started.port}/api/reviews`)).status).toBe(200)
    const deadline = Date.now() + 5000
    let findings: Array<{ route: string; callSites: string[] }> = []
    while (Date.now() < deadline && findings.length === 0) {
      const res = await fetch(`http://127.0.0.1:${started.port}/performance/query/optimization`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status).toBe(200)
      findings = ((await res.json()) as { queries: { nPlusOne: typeof findings } }).queries.nPlusOne
      if (findings.length === 0) await new Promise((r) => setTimeout(r, 50))
    }
    const line = lineIn(file, 'author.get(r.author_id)')
    const site = `examples/basic/${file}:${line}:`.replace(/[./]/g, (c) => `\\${c}`)
    expect(findings).toEqual([
      expect.objectContaining({
        route: 'GET /api/reviews',
        callSites: [expect.stringMatching(new RegExp(`${site}\\d+\\)?$`))],
      }),
    ])
  })
})
