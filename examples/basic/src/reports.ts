/**
 * Report builds as background tasks: `POST /api/reports` queues one and answers 202 with where to
 * follow it; `/reports/:id` is a page with its progress bar; `GET /api/reports/:id` is the task.
 * The memory engine runs them in this process (no server needed); `BullMQEngine` would share them.
 */
import { join } from 'node:path'
import { createTasks } from '@hotpath/tasks'
import express from 'express'

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/

export function createReports(options: { publicDir: string; stepMs?: number }) {
  const stepMs = options.stepMs ?? 150
  const tasks = createTasks({ concurrency: 2, timeout: '60s', retention: { age: '1d', count: 500 } })

  tasks.define('report', async (input: { month: string }, { signal, progress }) => {
    let rows = 0
    for (let step = 1; step <= 20; step++) {
      // Stops at once on a cancel or the timeout; a result after that would be discarded anyway.
      if (signal.aborted) return undefined
      await sleep(stepMs, signal)
      rows += 250
      progress(step * 5, `${rows} rows of ${input.month}`)
    }
    return { month: input.month, rows }
  })

  const router = express.Router()
  router.post('/api/reports', async (req, res, next) => {
    try {
      const month =
        typeof req.body?.month === 'string' ? req.body.month : new Date().toISOString().slice(0, 7)
      if (!MONTH.test(month)) {
        res.status(400).json({ error: 'month must look like 2024-07' })
        return
      }
      const { id } = await tasks.submit('report', { month })
      const page = `/reports/${encodeURIComponent(id)}`
      // The shop page's plain HTML form follows the 303 to the progress page; API clients get JSON.
      if (req.is('application/x-www-form-urlencoded') && req.accepts(['json', 'html']) === 'html') {
        res.redirect(303, page)
        return
      }
      res
        .status(202)
        .location(`/api/reports/${encodeURIComponent(id)}`)
        .json({ id, status: `/api/reports/${encodeURIComponent(id)}`, page })
    } catch (err) {
      next(err)
    }
  })
  router.get('/api/reports/:id', async (req, res, next) => {
    try {
      // Progress changes every moment: no cache in between may keep it.
      res.setHeader('Cache-Control', 'no-store')
      const task = await tasks.get(req.params.id)
      if (task === undefined) {
        res.status(404).json({ error: 'no such report' })
        return
      }
      res.json(task)
    } catch (err) {
      next(err)
    }
  })
  router.get('/reports/:id', (_req, res) => {
    res.sendFile(join(options.publicDir, 'report.html'))
  })
  return { tasks, router }
}
