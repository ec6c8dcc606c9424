/** The Store contract against the memory store (nothing survives a restart: that part is not run). */
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {storeContract} from './contract.js'

storeContract('MemoryStore', async () => ({store: new MemoryStore(), cleanup: async () => {}}), {persistent: false})
