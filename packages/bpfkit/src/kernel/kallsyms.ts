import fs from 'node:fs';

/**
 * Addresses of kernel symbols from `/proc/kallsyms` (zero when
 * kptr_restrict hides them from this process, and absent for data symbols
 * when the kernel lacks CONFIG_KALLSYMS_ALL). Module symbols are found
 * too (`name [module]`).
 *
 * @example
 * kallsymsAddresses(['__x64_sys_bpf']).get('__x64_sys_bpf'); // 0xffffffff814de1b0n
 */
export function kallsymsAddresses(names: Iterable<string>, path = '/proc/kallsyms'): Map<string, bigint> {
  const wanted = new Set(names);
  const out = new Map<string, bigint>();
  if (wanted.size === 0) return out;
  const text = fs.readFileSync(path, 'utf8');
  for (let start = 0; start < text.length && out.size < wanted.size; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // "ffffffff814de1b0 T __x64_sys_bpf\t[module]"
    const nameStart = text.indexOf(' ', text.indexOf(' ', start) + 1) + 1;
    let nameEnd = nameStart;
    while (nameEnd < end && text[nameEnd] !== '\t' && text[nameEnd] !== ' ') nameEnd++;
    const name = text.slice(nameStart, nameEnd);
    if (wanted.has(name) && !out.has(name)) out.set(name, BigInt(`0x${text.slice(start, text.indexOf(' ', start))}`));
    start = end + 1;
  }
  return out;
}
