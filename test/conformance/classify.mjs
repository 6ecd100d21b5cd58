// Classifies one run of the HTTP cache conformance suite the way cache-tests.fyi does
// (test-engine/lib/results.mjs, dependencies honoured), as { id: { kind, result } }.
// Usage: node classify.mjs <suite dir> <results.json>
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [dir, file] = process.argv.slice(2)
const load = (path) => import(pathToFileURL(join(dir, path)).href)
const { determineTestResult, resultTypes } = await load('test-engine/lib/results.mjs')
const { default: suites } = await load('tests/index.mjs')
const results = JSON.parse(readFileSync(file, 'utf8'))
const names = new Map(Object.entries(resultTypes).map(([name, type]) => [type, name]))
const out = {}
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only === true) continue
    const type = determineTestResult(suites, test.id, results, true)
    out[test.id] = { kind: test.kind ?? 'required', result: names.get(type) ?? 'untested' }
  }
}
process.stdout.write(JSON.stringify(out))
