import { encodeBtf, objectBtfForKernel, patchObjectBtfForKernel, sanitizeBtf, unsupportedKinds } from '@bpfkit/elf';
import type { Btf, ElfFile, ObjectExterns } from '@bpfkit/elf';
import { btfLoad, BtfLoadError } from '@bpfkit/syscalls';
import { kernelBtfSupport } from '../kernel/btf-support.js';

/**
 * Loads an object's BTF into the kernel as the kernel accepts it: data
 * sections sized and placed, extern sections laid out, kinds the kernel
 * lacks rewritten ({@link sanitizeBtf}), the original strings kept so
 * `.BTF.ext` line info offsets stay valid. The object's own bytes, patched
 * ({@link patchObjectBtfForKernel}), go first: a kernel with every kind
 * they use takes them without the kinds being probed or the types decoded
 * and encoded again. Like libbpf, a kernel that still
 * refuses it is not fatal: the object loads without BTF (maps without key
 * and value types, programs without func/line info) and the reason is
 * returned as a warning.
 *
 * @example
 * const spec = readObject(fs.readFileSync('prog.bpf.o'));
 * const r = loadObjectBtf(spec.elf, spec.btf!, spec.externs);
 * if ('fd' in r) console.log('BTF object fd', r.fd); else console.warn(r.warning);
 */
export function loadObjectBtf(elf: ElfFile, btf: Btf, externs: ObjectExterns): { fd: number } | { warning: string } {
  const patched = patchObjectBtfForKernel(elf, btf, externs);
  if (patched) {
    try {
      return { fd: btfLoad(patched, {}, { subject: 'object BTF' }) };
    } catch (err) {
      if (!(err instanceof BtfLoadError)) throw err;
      // A kind this kernel lacks, most likely: the full rewrite replaces what the probes say it refuses.
    }
  }
  const support = kernelBtfSupport();
  const types = sanitizeBtf(objectBtfForKernel(elf, btf, externs), support);
  const blob = encodeBtf(types, true, { strings: btf.strings });
  try {
    return { fd: btfLoad(blob, {}, { subject: 'object BTF' }) };
  } catch (err) {
    if (!(err instanceof BtfLoadError)) throw err;
    // Load again with a log to say why.
    let log = '';
    try {
      btfLoad(blob, { log: new Uint8Array(1 << 20) }, { subject: 'object BTF' });
    } catch (again) {
      if (again instanceof BtfLoadError) log = again.log;
    }
    const last = log.trim().split('\n').pop() ?? err.message;
    const unsupported = unsupportedKinds(types, support);
    return {
      warning: `the kernel refused the object's BTF (${last}${unsupported.length ? `; kinds left: ${unsupported.join(', ')}` : ''}): maps and programs load without it`,
    };
  }
}
