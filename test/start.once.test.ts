/**
 * The quick start's second half: the built example starts, prints what to curl, and serves it.
 * (`npm test` builds first, so `examples/basic/dist` is current.)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort } from './helpers/redis-server'

describe('npm start', () => {
  let child: ChildProcess | undefined
  afterEach(() => {
    child?.kill('SIGTERM')
  })

  it('starts the example on PORT and prints the URLs and the dashboard token', async () => {
    const port = await freePort()
    child = spawn(process.execPath, [join(__dirname, '..', 'examples', 'basic', 'dist', 'server.js')], {
      env: { ...process.env, PORT: String(port), HOTPATH_TOKEN: 'start-test-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start banner; got: ${output}`)), 15_000)
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('token: start-test-token')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child?.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)))
    })
    expect(output).toContain(`listening on http://localhost:${port}`)
    expect(output).toContain(`curl -i http://localhost:${port}/api/products`)
    const res = await fetch(`http://127.0.0.1:${port}/api/products`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(20)
  })
})
