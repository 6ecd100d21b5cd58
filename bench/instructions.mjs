// Instructions per request of a scenario's servers, counted by valgrind (cachegrind), so the
// host's noise does not enter: `node bench/instructions.mjs <scenario> [server label ...]`.
// Each server runs in its own process under `valgrind --tool=cachegrind --cache-sim=no`, on
// 127.0.0.1, behind a real socket and Node's HTTP parser, and answers `warm + requests` requests
// from autocannon. It runs twice, once with `requests` more than the other: the difference of
// the two counts, divided by `requests`, is the user-space instructions of one request (process
// start, module loading and the warm-up cancel out). The baseline is measured twice (an A/A
// control). Needs valgrind on PATH; budgets are checked by `npm run bench`.
//
// It counts work, not time: cache and memory stalls, and the kernel's share of each request, are
// not in it, so its ratios are not the requests/s ratios of `npm run bench` (on this host a
// server's CPU time per request grew by more than its instructions did). What it gives is the
// instruction cost of a change or a middleware within ~1%, which loopback rounds on a shared
// host cannot resolve.
import { fork, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { scenarioFromArgs } from './scenario-args.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const { name, scenario, labels } = await scenarioFromArgs('instructions.mjs')
if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not on PATH (apt-get install valgrind)')
  process.exit(2)
}
const warm = Number(process.env.INSTR_WARM) || 2000
const requests = Number(process.env.INSTR_REQUESTS) || 6000
if (scenario.baseline) labels.push(`${scenario.baseline} (control)`)
const scratch = mkdtempSync(join(tmpdir(), 'hotpath-instructions-'))

/** Total instructions of one server process that answered `count` requests. */
async function count(label, total) {
  const [moduleName, options] = scenario.servers[label.replace(/ \(control\)$/, '')]
  const out = join(scratch, `${label.replace(/\W+/g, '_')}-${total}.out`)
  const child = fork(
    join(here, 'server-process.mjs'),
    [join(here, 'servers', moduleName), JSON.stringify(options ?? {})],
    {
      execPath: 'valgrind',
      execArgv: [
        '--tool=cachegrind',
        '--cache-sim=no',
        `--cachegrind-out-file=${out}`,
        '-q',
        process.execPath,
        // V8 on the main thread only (compilation and GC): when optimised code arrives no longer
        // depends on thread timing, so the count repeats within ~1% (with background threads it
        // moved by up to 3% between identical runs). Fixed seeds (hash tables, Math.random), and
        // a full collection before exit (below): the garbage a run made is collected in it.
        '--single-threaded',
        '--expose-gc',
        '--hash-seed=1',
        '--random-seed=1',
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  const port = await new Promise((resolve, reject) => {
    child.on('message', (message) => message.type === 'ready' && resolve(message.port))
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before it was ready`)))
  })
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${scenario.request.path}`,
    method: scenario.request.method ?? 'GET',
    headers: scenario.request.headers ?? {},
    body: scenario.request.body,
    idReplacement: Boolean(scenario.request.idReplacement),
    connections: 8,
    amount: total,
    timeout: 60,
  })
  await new Promise((resolve) => {
    child.once('exit', resolve)
    child.send({ type: 'stop', gc: true })
  })
  const bad = result.errors + result.timeouts + (scenario.expectStatus ? 0 : result.non2xx)
  if (bad) throw new Error(`${label}: ${bad} failed answers`)
  const summary = /^summary: (\d+)/m.exec(readFileSync(out, 'utf8'))
  if (!summary) throw new Error(`${label}: no cachegrind summary in ${out}`)
  return Number(summary[1])
}

const rows = []
try {
  for (const label of labels) {
    const small = await count(label, warm)
    const large = await count(label, warm + requests)
    rows.push({ label, perRequest: (large - small) / requests })
    console.error(
      `${label}: ${Math.round((large - small) / requests).toLocaleString('en-US')} instructions per request`,
    )
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
const base = rows.find((row) => row.label === scenario.baseline) ?? rows[0]
const lines = [
  `### ${name}: user-space instructions per request (valgrind), ${requests} requests after ${warm}`,
  '',
  `| server | instructions / request | × ${base.label} (its instructions / these) |`,
  '|---|---|---|',
]
for (const row of rows) {
  lines.push(
    `| ${row.label} | ${Math.round(row.perRequest).toLocaleString('en-US')} | ${(base.perRequest / row.perRequest).toFixed(3)} |`,
  )
}
// The scenario's budgets against servers measured here, read as instruction ratios.
const measured = new Map(rows.map((row) => [row.label, row.perRequest]))
const budgets = (scenario.budgets ?? []).filter((b) => measured.has(b.server) && measured.has(b.vs))
if (budgets.length) {
  lines.push(
    '',
    '| budget (read in instructions; the budget of record is `npm run bench`) | instruction ratio | ratio ≥ min |',
    '|---|---|---|',
  )
  for (const budget of budgets) {
    const ratio = measured.get(budget.vs) / measured.get(budget.server)
    lines.push(
      `| ${budget.server} ≥ ${budget.min}× ${budget.vs} | ${ratio.toFixed(3)}× | ${ratio >= budget.min ? 'yes' : 'no'} |`,
    )
  }
}
const text = lines.join('\n')
console.log(`\n${text}`)
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', `${name}.instructions.md`), `${text}\n`)
