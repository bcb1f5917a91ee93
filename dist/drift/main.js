import { main } from '../index.js'
await main('drift', 'main')
