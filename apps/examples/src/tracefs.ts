import fs from 'node:fs';

/** Where tracefs is mounted on current systems, then where older ones mount it (under debugfs). */
const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/**
 * The format file of tracepoint `group:event` (the layout of its record),
 * or undefined when tracefs is not mounted or not readable.
 *
 * @example
 * tracepointFormat('skb', 'kfree_skb')?.includes('rx_sk');
 */
export function tracepointFormat(group: string, event: string): string | undefined {
  for (const dir of TRACEFS) {
    try {
      return fs.readFileSync(`${dir}/events/${group}/${event}/format`, 'utf8');
    } catch {
      // not mounted there, or not readable: the next place
    }
  }
  return undefined;
}
