// `node apps/examples/dist/endpoint-map/main.js [--mock] [--pin-dir DIR] [--keep]`
import { runEndpointMap } from './endpoint-map.js';

const args = process.argv.slice(2);
const at = args.indexOf('--pin-dir');
await runEndpointMap({
  backend: args.includes('--mock') ? 'mock' : 'auto',
  keep: args.includes('--keep'),
  ...(at >= 0 && args[at + 1] ? { pinDir: args[at + 1] } : {}),
});
