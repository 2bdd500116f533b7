import type { Features } from '@bpfkit/core';

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** Lays rows out as an aligned text table. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
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
  const caps = Object.entries(f.capabilities)
    .filter(([k, v]) => k !== 'root' && v)
    .map(([k]) => k);
  // What an unprivileged process cannot probe is said once, not answered "no".
  const needsBpf = f.bpf.available
    ? undefined
    : 'unknown: probing needs bpf(), which needs root or CAP_BPF (+ CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN)';
  const unlessUnprivileged = (answer: string) => needsBpf ?? answer;
  const env: [string, string][] = [
    ['kernel', f.kernel.release],
    ['bpf()', f.bpf.available ? 'yes' : `no: ${f.bpf.reason ?? 'not privileged'}`],
    ['kernel BTF', yes(f.btf)],
    ['bpffs', f.bpffs ?? 'not mounted'],
    ['root', yes(f.capabilities.root)],
    ['capabilities', caps.join(' ') || 'none'],
    ['memlock accounting', f.memlockAccounting ? 'yes (RLIMIT_MEMLOCK charged, kernel < 5.11)' : 'no (memcg)'],
    ['batch map ops', unlessUnprivileged(yes(f.batchOps))],
    ['ring buffer', unlessUnprivileged(yes(f.ringBuffer))],
    ['kprobe PMU', f.kprobePmu ? 'yes' : 'no (CONFIG_KPROBES off: kprobe attach unavailable)'],
    ['uprobe PMU', yes(f.uprobePmu)],
    ['pins relative to a dir', unlessUnprivileged(f.pinPathFd ? 'yes' : 'no (BPF_F_PATH_FD: 6.5)')],
    ['BPF streams', unlessUnprivileged(f.programStreams ? 'yes' : 'no (BPF_PROG_STREAM_READ_BY_FD: 6.17)')],
    ['struct_ops links', unlessUnprivileged(f.structOpsLink ? 'yes' : 'no (BPF_F_LINK: 6.4)')],
    ['map types', unlessUnprivileged(count(f.mapTypes))],
    ['program types', unlessUnprivileged(count(f.programTypes))],
    ['link types', count(f.linkTypes)],
  ];
  const sections = [textTable(['feature', 'value'], env)];
  const answer = (supported: boolean, restriction: string | undefined) => (supported ? 'yes' : restriction ? `no: ${restriction}` : 'no');
  if (f.bpf.available) {
    const mapRows = Object.entries(f.mapTypes).map(([k, v]) => [k, answer(v, f.mapTypeRestrictions[k])]);
    const programRows = Object.entries(f.programTypes).map(([k, v]) => [k, answer(v, f.programTypeRestrictions[k])]);
    sections.push(textTable(['map type', 'supported'], mapRows), textTable(['program type', 'supported'], programRows));
  }
  sections.push(
    textTable(
      ['link type', 'supported'],
      Object.entries(f.linkTypes).map(([k, v]) => [k, yes(v)]),
    ),
  );
  const helperRows = Object.entries(f.helpers).map(([prog, helpers]) => [prog, count(helpers)]);
  if (helperRows.length) sections.push(textTable(['program type', 'helpers available'], helperRows));
  if (options.helpers) {
    for (const [prog, helpers] of Object.entries(f.helpers)) {
      sections.push(
        `${prog}: ${Object.entries(helpers)
          .filter(([, v]) => v)
          .map(([k]) => k)
          .join(' ')}`,
      );
    }
  }
  return sections.join('\n\n');
}
