import { MemoryStore } from '../src'
import { makeClock, storeContract } from './contract'

storeContract('MemoryStore', async () => {
  const clock = makeClock()
  return { store: new MemoryStore({ now: clock.now }), clock }
})
