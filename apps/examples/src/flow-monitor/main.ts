// `node apps/examples/dist/flow-monitor/main.js [--mock] [--json] [--seconds N] [--metrics-port P]`
import { runFlowMonitor } from './flow-monitor.js';

const args = process.argv.slice(2);
const value = (flag: string) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined);
const seconds = value('--seconds');
const metricsPort = value('--metrics-port');
for (const [flag, v] of [
  ['--seconds', seconds],
  ['--metrics-port', metricsPort],
] as const) {
  if (v !== undefined && !(v > 0)) {
    console.error(`flow-monitor: ${flag} expects a positive number`);
    process.exit(2);
  }
}
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
const summary = await runFlowMonitor({
  backend: args.includes('--mock') ? 'mock' : 'auto',
  json: args.includes('--json'),
  signal: stop.signal,
  ...(seconds === undefined ? {} : { seconds }),
  ...(metricsPort === undefined ? {} : { metricsPort }),
});
if (!args.includes('--json')) {
  console.log(
    `\n${summary.flows.length} flows, ${summary.endedEvents} ended through the ring buffer, ${summary.evictions} evictions (${summary.batchEviction ? 'batch lookup-and-delete' : 'iterate-and-delete'}), attached with ${summary.attachedWith}; nothing left attached`,
  );
}
