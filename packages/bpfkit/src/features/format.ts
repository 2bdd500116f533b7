import type { Features } from '@bpfkit/core';

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** Lays rows out as an aligned text table. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Counts the `true` values of a record as `n/total`. */
function count(r: Record<string, boolean>): string {
  const values = Object.values(r);
  return `${values.filter(Boolean).length}/${values.length}`;
}

/**
 * Renders {@link Features} as the `bpfkit features` table: environment
 * first, then map, program and link types, then helper counts per program type.
 *
 * @example
 * console.log(formatFeatures(system.features()));
 */
export function formatFeatures(f: Features, options: { helpers?: boolean } = {}): string {
  const caps = Object.entries(f.capabilities).filter(([k, v]) => k !== 'root' && v).map(([k]) => k);
  const env: [string, string][] = [
    ['kernel', f.kernel.release],
    ['kernel BTF', yes(f.btf)],
    ['bpffs', f.bpffs ?? 'not mounted'],
    ['root', yes(f.capabilities.root)],
    ['capabilities', caps.join(' ') || 'none'],
    ['memlock accounting', f.memlockAccounting ? 'yes (RLIMIT_MEMLOCK charged, kernel < 5.11)' : 'no (memcg)'],
    ['batch map ops', yes(f.batchOps)],
    ['ring buffer', yes(f.ringBuffer)],
    ['kprobe PMU', f.kprobePmu ? 'yes' : 'no (CONFIG_KPROBES off: kprobe attach unavailable)'],
    ['uprobe PMU', yes(f.uprobePmu)],
    ['map types', count(f.mapTypes)],
    ['program types', count(f.programTypes)],
    ['link types', count(f.linkTypes)],
  ];
  const sections = [textTable(['feature', 'value'], env)];
  const listing = (title: string, r: Record<string, boolean>) =>
    textTable([title, 'supported'], Object.entries(r).map(([k, v]) => [k, yes(v)]));
  const programRows = Object.entries(f.programTypes).map(([k, v]) => [k, v ? 'yes' : f.programTypeRestrictions[k] ? `no: ${f.programTypeRestrictions[k]}` : 'no']);
  sections.push(listing('map type', f.mapTypes), textTable(['program type', 'supported'], programRows), listing('link type', f.linkTypes));
  const helperRows = Object.entries(f.helpers).map(([prog, helpers]) => [prog, count(helpers)]);
  if (helperRows.length) sections.push(textTable(['program type', 'helpers available'], helperRows));
  if (options.helpers) {
    for (const [prog, helpers] of Object.entries(f.helpers)) {
      sections.push(`${prog}: ${Object.entries(helpers).filter(([, v]) => v).map(([k]) => k).join(' ')}`);
    }
  }
  return sections.join('\n\n');
}
