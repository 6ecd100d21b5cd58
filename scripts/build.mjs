// Builds every workspace package with TypeScript in dependency order, in one tsc process.
// `--for <dir>` builds only that package and the @hotpath packages it depends on: every
// package's `prepack` runs it, so `npm pack` on a fresh clone ships compiled code.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
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
const args = process.argv.slice(2)
const forIndex = args.indexOf('--for')
if (forIndex === -1) {
  for (const dir of dirs) visit(dir, [])
} else {
  const target = relative(root, resolve(process.cwd(), args[forIndex + 1] ?? '.'))
  if (!manifests.has(target)) {
    console.error(`build: --for ${args[forIndex + 1]} is not a workspace package with a tsconfig.json`)
    process.exit(2)
  }
  visit(target, [])
  args.splice(forIndex, 2)
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const result = spawnSync(process.execPath, [tsc, '-b', ...ordered, ...args], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
