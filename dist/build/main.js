import { main } from '../index.js'
await main('build', 'main')
