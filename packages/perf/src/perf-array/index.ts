export { PerfEventArrayReader } from './reader.js';
export type { PerfEventArrayMap, PerfEventArrayStats } from './reader.js';
