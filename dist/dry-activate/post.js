import { main } from '../index.js'
await main('dry-activate', 'post')
