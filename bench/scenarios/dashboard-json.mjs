import { TOKEN } from '../servers/dashboard.mjs'

// What one poll of the page costs: GET /performance/dashboard (all four sources, insights,
// auth, security headers), as a ratio to the plain 1 KB route. Informational: no budget.
export default {
  title: 'GET /performance/dashboard with four real sources (one page poll) vs the 1 KB res.json route',
  servers: {
    'express 1 KB': ['dashboard.mjs', { plain: 1 }],
    'dashboard JSON': ['dashboard.mjs', {}],
  },
  baseline: 'express 1 KB',
  request: { path: '/performance/dashboard', headers: { authorization: `Bearer ${TOKEN}` } },
  budgets: [],
}
