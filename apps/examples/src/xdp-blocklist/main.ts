// `node apps/examples/dist/xdp-blocklist/main.js [--mock]`
import { runXdpBlocklist } from './xdp-blocklist.js';

await runXdpBlocklist({ backend: process.argv.includes('--mock') ? 'mock' : 'auto' });
