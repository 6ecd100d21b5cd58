import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { ASSETS_DIR } from '../src/page'

const root = join(__dirname, '..')

describe('the published package', () => {
  it('ships the page assets beside dist', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    })
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path)
    expect(files).toEqual(
      expect.arrayContaining([
        'assets/app.css',
        'assets/app.js',
        'assets/index.html',
        'assets/sign-in.html',
        'README.md',
      ]),
    )
  })

  it('finds the assets relative to the compiled file (src/ in tests, dist/ when published)', () => {
    expect(ASSETS_DIR).toBe(join(root, 'assets'))
  })
})
