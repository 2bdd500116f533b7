// `node apps/examples/dist/exec-snoop/main.js [--mock] [--json] [--seconds N]`
import { runExecSnoop } from './exec-snoop.js';

const args = process.argv.slice(2);
const seconds = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : undefined;
if (seconds !== undefined && !(seconds > 0)) {
  console.error('exec-snoop: --seconds expects a positive number of seconds');
  process.exit(2);
}
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
await runExecSnoop({
  backend: args.includes('--mock') ? 'mock' : 'auto',
  json: args.includes('--json'),
  signal: stop.signal,
  ...(seconds === undefined ? {} : { durationMs: seconds * 1000 }),
});
