// The bench's peers (apicache, express-rate-limit, shrink-ray-current, bentocache, …) are
// devDependencies of bench/ only, so the root install compiles nothing for them. The first
// `npm run bench` installs them here from bench/package-lock.json; later runs find them.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'))
const installed = join(here, 'node_modules', '.package-lock.json')
const missing = Object.keys(manifest.devDependencies).filter(
  (name) => !existsSync(join(here, 'node_modules', name, 'package.json')),
)
const stale =
  existsSync(installed) && statSync(join(here, 'package.json')).mtimeMs > statSync(installed).mtimeMs
if (missing.length > 0 || stale) {
  const lock = existsSync(join(here, 'package-lock.json'))
  console.log(`bench: installing its peers into bench/node_modules (${missing.length} missing)…`)
  const result = spawnSync('npm', [lock && !stale ? 'ci' : 'install', '--no-audit', '--no-fund'], {
    cwd: here,
    stdio: 'inherit',
  })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
