import fs from 'node:fs';

/**
 * What kind of BPF object a file descriptor refers to, from the name of its
 * anon inode in /proc/self/fd (`anon_inode:bpf-map`, `bpf-prog`, `bpf_link`,
 * `btf`, `bpf_iter`, `bpf-token`): `'map'`, `'prog'`, `'link'`, `'btf'`,
 * `'iter'` or `'token'`; `'non-BPF file'` for any other file; undefined
 * when /proc cannot tell (not mounted, or the fd is not open).
 *
 * @example
 * bpfObjectKind(objGet('/sys/fs/bpf/counts')); // 'map'
 */
export function bpfObjectKind(fd: number): string | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
  const m = /^anon_inode:(?:bpf[-_](\w+)|(btf))$/.exec(target);
  return m ? (m[1] ?? m[2]) : 'non-BPF file';
}
