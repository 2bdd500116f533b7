/**
 * The examples' generated skeletons: which object each comes from. `pnpm
 * --filter @bpfkit/examples gen` writes them (src/skeletons/*.ts, committed,
 * not formatted by hand), and a test checks they are what `bpfkit gen types`
 * makes of the committed objects today.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTypes } from 'bpfkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Object (under bpf/) → skeleton module (under src/skeletons/). */
export const SKELETONS: Readonly<Record<string, string>> = {
  'exec_snoop.bpf.o': 'exec-snoop.ts',
  'xdp_blocklist.bpf.o': 'xdp-blocklist.ts',
  'flow_monitor.bpf.o': 'flow-monitor.ts',
  'uprobe_latency.bpf.o': 'uprobe-latency.ts',
};

/** What `bpfkit gen types bpf/<object>` makes of an object, as the committed skeleton holds it. */
export function generateSkeleton(object: string): string {
  return generateTypes(new Uint8Array(fs.readFileSync(path.join(root, 'bpf', object))), { source: object });
}

/** Where an object's skeleton is committed. */
export function skeletonPath(object: string): string {
  return path.join(root, 'src', 'skeletons', SKELETONS[object]!);
}
