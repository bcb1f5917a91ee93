import { main } from '../index.js'
await main('diff', 'main')
