import express from 'express'
import { compression } from '@hotpath/compression'
import { jsonSmall } from '/work/main/bench/payload.mjs'
import { run } from '/tmp/cbench/harness.mjs'
const a = express(); a.use(compression({ threshold: 500 })); a.get('/small', (_q, r) => r.json(jsonSmall))
const b = express(); b.use((q,r,n)=>n()); b.get('/small', (_q, r) => r.json(jsonSmall))
await run({ [process.argv[2]]: process.argv[2] === 'hot' ? a : b }, '/small', 'gzip, deflate, br', 3, 30000)
