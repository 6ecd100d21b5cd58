// Medians, spreads, paired ratios and the markdown table of one scenario.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Distribution-free confidence interval of the median (default 95%): the order statistics whose
 * ranks the binomial distribution puts around the middle. Needs no assumption about the noise.
 * With fewer than 6 values no such interval exists at 95%, and the whole range is returned.
 */
export function medianInterval(values, confidence = 0.95) {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return [null, null]
  // P(X < k) for X ~ Binomial(n, 1/2), summed until it passes (1 - confidence) / 2.
  const tail = (1 - confidence) / 2
  let cumulative = 0
  let term = 0.5 ** n
  let k = 0
  while (k < n && cumulative + term <= tail) {
    cumulative += term
    term = (term * (n - k)) / (k + 1)
    k++
  }
  if (k === 0) return [sorted[0], sorted[n - 1]]
  return [sorted[k - 1], sorted[n - k]]
}

/** `ratio(label's sample, vs's sample)` round by round, so drift between rounds cancels out. */
function paired(samples, label, vs, ratio) {
  const b = samples.get(vs)
  return samples.get(label).map((sample, i) => ratio(sample, b[i]))
}

/** Ratio of `label`'s requests/s to `vs`'s, per round. */
export function pairedRatios(samples, label, vs) {
  return paired(samples, label, vs, (a, b) => a.rps / b.rps)
}

/** Per round, `vs`'s CPU time per request over `label`'s: the cost ratio, as requests/s states it. */
export function pairedCpuRatios(samples, label, vs) {
  return paired(samples, label, vs, (a, b) => b.cpuPerRequest / a.cpuPerRequest)
}

function unexpected(run, expectStatus) {
  if (!expectStatus || !run.byClass) return run.non2xx
  const wanted = run.byClass[`${String(expectStatus)[0]}xx`] ?? 0
  return Object.values(run.byClass).reduce((sum, n) => sum + n, 0) - wanted
}

export function summarise(samples, scenario, labels) {
  const rows = labels.map((label) => {
    const runs = samples.get(label)
    const rps = runs.map((run) => run.rps)
    const ratios = scenario.baseline ? pairedRatios(samples, label, scenario.baseline) : []
    return {
      label,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      ratio: ratios.length ? median(ratios) : null,
      ratioMin: ratios.length ? Math.min(...ratios) : null,
      ratioMax: ratios.length ? Math.max(...ratios) : null,
      p50: median(runs.map((run) => run.p50)),
      p99: median(runs.map((run) => run.p99)),
      cpuPerRequest: median(runs.map((run) => run.cpuPerRequest)),
      // Answers other than the scenario expects (2xx unless it sets expectStatus, e.g. 304).
      non2xx: runs.reduce((sum, run) => sum + unexpected(run, scenario.expectStatus), 0),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
      rss: Math.max(...runs.map((run) => run.rss)),
    }
  })
  const budgets = (scenario.budgets ?? [])
    // A run limited to some servers (BENCH_SERVERS) checks the budgets it measured.
    .filter((budget) => samples.has(budget.server) && samples.has(budget.vs))
    .map((budget) => {
      const ratios = pairedRatios(samples, budget.server, budget.vs)
      const ratio = median(ratios)
      const [low, high] = medianInterval(ratios)
      const cpuRatio = median(pairedCpuRatios(samples, budget.server, budget.vs))
      return { ...budget, ratio, low, high, cpuRatio, ok: ratio >= budget.min }
    })
  const control = labels.find((label) => label.endsWith(' (control)'))
  const controlRatios = control ? pairedRatios(samples, control, scenario.baseline) : null
  const controlRatio = controlRatios ? median(controlRatios) : null
  const controlInterval = controlRatios ? medianInterval(controlRatios) : null
  const noiseLimit = scenario.noise ?? 0.05
  return {
    rows,
    budgets,
    controlRatio,
    controlInterval,
    noisy: controlRatio !== null && Math.abs(controlRatio - 1) > noiseLimit,
    noiseLimit,
  }
}

const fmt = (n, digits = 0) =>
  n === null || n === undefined
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

export function formatTable(name, scenario, summary) {
  const lines = [
    `### ${name}: ${scenario.title}`,
    '',
    `| server | req/s median (min–max) | × ${scenario.baseline ?? 'baseline'} (min–max) | p50 ms | p99 ms | CPU µs/req | ${scenario.expectStatus ? `not ${scenario.expectStatus}` : 'non-2xx'} |`,
    '|---|---|---|---|---|---|---|',
  ]
  for (const row of summary.rows) {
    lines.push(
      `| ${row.label} | ${fmt(row.rps)} (${fmt(row.rpsMin)}–${fmt(row.rpsMax)}) | ${fmt(row.ratio, 2)} (${fmt(row.ratioMin, 2)}–${fmt(row.ratioMax, 2)}) | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${fmt(row.cpuPerRequest, 1)} | ${row.non2xx + row.errors} |`,
    )
  }
  let failed = 0
  if (summary.budgets.length) {
    lines.push(
      '',
      '| budget | measured (median of paired rounds) | 95% interval of that median | CPU/request ratio (paired median) | result |',
      '|---|---|---|---|---|',
    )
    for (const budget of summary.budgets) {
      if (!budget.ok) failed++
      lines.push(
        `| ${budget.server} ≥ ${budget.min}× ${budget.vs} | ${fmt(budget.ratio, 3)}× | ${fmt(budget.low, 3)}–${fmt(budget.high, 3)} | ${fmt(budget.cpuRatio, 3)}× | ${budget.ok ? 'ok' : 'MISS'} |`,
      )
    }
  }
  if (summary.controlRatio !== null) {
    lines.push(
      '',
      `Control (identical server measured twice): ${fmt(summary.controlRatio, 3)}× (95% interval ${fmt(summary.controlInterval[0], 3)}–${fmt(summary.controlInterval[1], 3)}) — ${summary.noisy ? `NOISY RUN (beyond ±${summary.noiseLimit}), ratios are unreliable` : 'within noise'}.`,
    )
  }
  return { text: lines.join('\n'), failed }
}
