// The command line of the one-scenario tools (instructions.mjs):
// `<scenario> [server label ...]`. Loads the scenario and picks its servers (the baseline always
// first among them); exits with usage on a missing name or a scenario that needs Redis.
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

export async function scenarioFromArgs(tool) {
  const [name, ...only] = process.argv.slice(2)
  if (!name) {
    console.error(`usage: node bench/${tool} <scenario> [server label ...]`)
    process.exit(2)
  }
  const scenario = (await import(pathToFileURL(join(here, 'scenarios', `${name}.mjs`)).href)).default
  if (scenario.needs?.length) {
    console.error(`scenario "${name}" needs ${scenario.needs.join(', ')}; run it with npm run bench`)
    process.exit(2)
  }
  const labels = Object.keys(scenario.servers).filter((label) => !only.length || only.includes(label))
  if (scenario.baseline && !labels.includes(scenario.baseline)) labels.unshift(scenario.baseline)
  return { name, scenario, labels }
}
