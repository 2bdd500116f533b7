export { PerfRing } from './perf-ring.js';
export type { PerfRingOptions } from './perf-ring.js';
export { walkPerfRecords } from './records.js';
