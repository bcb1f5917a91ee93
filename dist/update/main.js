import { main } from '../index.js'
await main('update', 'main')
