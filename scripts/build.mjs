// Builds every workspace package with TypeScript in dependency order, in one tsc process.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dirs = ['packages', 'examples'].flatMap((parent) =>
  readdirSync(join(root, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, parent, entry.name, 'tsconfig.json')))
    .map((entry) => join(parent, entry.name)),
)
const manifests = new Map(
  dirs.map((dir) => [dir, JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))]),
)
const byName = new Map([...manifests].map(([dir, pkg]) => [pkg.name, dir]))

const ordered = []
const state = new Map()
function visit(dir, trail) {
  if (state.get(dir) === 'done') return
  if (state.get(dir) === 'visiting') throw new Error(`dependency cycle: ${[...trail, dir].join(' -> ')}`)
  state.set(dir, 'visiting')
  const pkg = manifests.get(dir)
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const depDir = byName.get(dep)
    if (depDir) visit(depDir, [...trail, dir])
  }
  state.set(dir, 'done')
  ordered.push(dir)
}
for (const dir of dirs) visit(dir, [])

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const result = spawnSync(process.execPath, [tsc, '-b', ...ordered, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
