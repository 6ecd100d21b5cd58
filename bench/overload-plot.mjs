// An SVG line plot of goodput (2xx within the SLO, per second) against offered load (× the
// measured capacity), one line per server, with the unloaded peak and 90% of it as guides.
// Plain SVG text, no dependency; every label is a fixed string or a number.
const COLORS = { none: '#d62728', threshold: '#ff7f0e', overload: '#2ca02c' }
const W = 640
const H = 400
const M = { left: 64, right: 140, top: 32, bottom: 48 }

export function plot({ rows, peak, capacity, servers }) {
  const xMax = 3.25
  const yMax = Math.max(peak, ...rows.map((r) => r.goodput)) * 1.15 || 1
  const x = (v) => M.left + (v / xMax) * (W - M.left - M.right)
  const y = (v) => H - M.bottom - (v / yMax) * (H - M.top - M.bottom)
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="18" font-size="14">Goodput (2xx within 100 ms) against offered load — capacity ${Math.round(capacity)} req/s</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`,
  ]
  for (const m of [0, 1, 2, 3]) {
    out.push(`<line x1="${x(m)}" y1="${H - M.bottom}" x2="${x(m)}" y2="${H - M.bottom + 5}" stroke="#333"/>`)
    out.push(`<text x="${x(m)}" y="${H - M.bottom + 18}" text-anchor="middle">${m}×</text>`)
  }
  for (let k = 0; k <= 4; k++) {
    const v = (yMax / 4) * k
    out.push(`<line x1="${M.left - 5}" y1="${y(v)}" x2="${W - M.right}" y2="${y(v)}" stroke="#eee"/>`)
    out.push(`<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`)
  }
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">offered load (× capacity)</text>`,
  )
  out.push(
    `<text x="16" y="${(M.top + H - M.bottom) / 2}" transform="rotate(-90 16 ${(M.top + H - M.bottom) / 2})" text-anchor="middle">goodput, req/s</text>`,
  )
  for (const [value, label] of [
    [peak, 'unloaded peak'],
    [peak * 0.9, '90% of peak'],
  ]) {
    out.push(
      `<line x1="${M.left}" y1="${y(value)}" x2="${W - M.right}" y2="${y(value)}" stroke="#999" stroke-dasharray="4 4"/>`,
    )
    out.push(`<text x="${W - M.right + 6}" y="${y(value) + 4}" fill="#666">${label}</text>`)
  }
  servers.forEach((server, i) => {
    const points = rows.filter((r) => r.server === server).sort((a, b) => a.multiple - b.multiple)
    const color = COLORS[server] ?? '#1f77b4'
    const path = points.map((p) => `${x(p.multiple).toFixed(1)},${y(p.goodput).toFixed(1)}`).join(' ')
    out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const p of points)
      out.push(
        `<circle cx="${x(p.multiple).toFixed(1)}" cy="${y(p.goodput).toFixed(1)}" r="3.5" fill="${color}"/>`,
      )
    const ly = M.top + 40 + i * 18
    out.push(
      `<line x1="${W - M.right + 6}" y1="${ly}" x2="${W - M.right + 26}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    )
    out.push(`<text x="${W - M.right + 30}" y="${ly + 4}">${server}</text>`)
  })
  out.push('</svg>', '')
  return out.join('\n')
}
