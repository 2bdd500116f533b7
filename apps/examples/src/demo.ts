/**
 * The demo: what this kernel supports, then a map round trip — on the kernel
 * when the process may use bpf(), on the in-memory mock otherwise.
 *
 *   pnpm demo            # auto
 *   pnpm demo --mock     # force the mock backend
 */
import { formatFeatures, MapType, openSystem, u32, u64 } from 'bpfkit';
import type { System } from 'bpfkit';

export async function demo(backend: 'auto' | 'mock' | 'kernel', log: (line: string) => void): Promise<void> {
  using system: System = await openSystem({ backend });
  log(`backend: ${system.kind}${system.kind === 'mock' ? ' (not privileged for bpf(), or --mock)' : ''}\n`);
  log(formatFeatures(system.features()));

  log('\nmap round trip:');
  using counts = system.createMap(
    { name: 'demo_counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
    { key: u32, value: u64 },
  );
  for (const port of [22, 80, 443]) counts.update(port, BigInt(port) * 10n);
  counts.update(80, 1n, 'exist');
  log(`  lookup(80)  = ${counts.lookup(80)}`);
  log(`  lookup(8080) = ${counts.lookup(8080)} (absent)`);
  log(`  delete(22)  = ${counts.delete(22)}`);
  const entries = [...counts.entries()].sort(([a], [b]) => a - b);
  log(`  entries     = ${entries.map(([k, v]) => `${k}=>${v}`).join(', ')}`);
  const info = counts.info();
  log(`  info        = id ${info.id}, type ${info.type}, key ${info.keySize} B, value ${info.valueSize} B, max ${info.maxEntries}`);
}

const argv = process.argv.slice(2);
const backend = argv.includes('--mock') ? 'mock' : argv.includes('--kernel') ? 'kernel' : 'auto';
if (import.meta.url === `file://${process.argv[1]}`) {
  await demo(backend, (line) => console.log(line));
}
