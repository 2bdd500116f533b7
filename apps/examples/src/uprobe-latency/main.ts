// `node apps/examples/dist/uprobe-latency/main.js [--mock] [--requests N]`
import { runUprobeLatency } from './uprobe-latency.js';

const args = process.argv.slice(2);
const requests = args.includes('--requests') ? Number(args[args.indexOf('--requests') + 1]) : undefined;
if (requests !== undefined && !(Number.isInteger(requests) && requests > 0)) {
  console.error('uprobe-latency: --requests expects a positive integer');
  process.exit(2);
}
const report = await runUprobeLatency({ backend: args.includes('--mock') ? 'mock' : 'auto', ...(requests ? { requests } : {}) });
if (args.includes('--metrics')) process.stdout.write(report.metrics);
