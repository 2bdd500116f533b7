import { AttachType, ProgramType } from '@bpfkit/core';
import { BtfKind } from '../btf/kinds.js';
import type { ProgramSpec } from '@bpfkit/core';
import type { KernelBtf } from './kernel-btf.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { essentialName } from '../co-re/btf-util.js';

/** The kernel BTF type a program attaches to, and the module holding it ('vmlinux' for the kernel itself). */
export interface AttachBtfTarget {
  id: number;
  module: string;
  /** The BTF name looked up, e.g. `btf_trace_sched_switch`. */
  typeName: string;
}

/**
 * The BTF name the kernel identifies an attach point by, for programs that
 * need `attach_btf_id` (the verifier checks their context against it):
 * `tp_btf/x` → typedef `btf_trace_x`, `fentry|fexit|fmod_ret/x` → function
 * `x`, `lsm/x` → `bpf_lsm_x`, `iter/x` → `bpf_iter_x`. Undefined for
 * every other program.
 *
 * @example
 * declare const spec: ProgramSpec;
 * attachBtfName({ ...spec, type: ProgramType.TRACING, expectedAttachType: AttachType.TRACE_RAW_TP, attachTo: 'sched_switch' }); // { name: 'btf_trace_sched_switch', kind: BtfKind.TYPEDEF }
 */
export function attachBtfName(spec: ProgramSpec): { name: string; kind: number } | undefined {
  const target = spec.attachTo;
  if (!target) return undefined;
  if (spec.type === ProgramType.LSM) return { name: `bpf_lsm_${target}`, kind: BtfKind.FUNC };
  if (spec.type !== ProgramType.TRACING) return undefined;
  switch (spec.expectedAttachType) {
    case AttachType.TRACE_RAW_TP:
      return { name: `btf_trace_${target}`, kind: BtfKind.TYPEDEF };
    case AttachType.TRACE_ITER:
      return { name: `bpf_iter_${target}`, kind: BtfKind.FUNC };
    case AttachType.TRACE_FENTRY:
    case AttachType.TRACE_FEXIT:
    case AttachType.MODIFY_RETURN:
      return { name: target, kind: BtfKind.FUNC };
    default:
      return undefined;
  }
}

/**
 * Finds a program's attach point in the kernel's BTF (vmlinux first, then
 * modules; `module:function` targets look in that module only).
 *
 * @example
 * const spec = readObject(fs.readFileSync('prog.bpf.o')).programs.on_switch; // SEC("tp_btf/sched_switch")
 * resolveAttachBtf(spec, kernelBtfs()); // { id: 1234, module: 'vmlinux', typeName: 'btf_trace_sched_switch' }
 */
export function resolveAttachBtf(spec: ProgramSpec, sources: KernelBtf[]): AttachBtfTarget | undefined {
  const wanted = attachBtfName(spec);
  if (!wanted) return undefined;
  let name = wanted.name;
  let only: string | undefined;
  const colon = spec.attachTo!.indexOf(':');
  if (colon > 0 && wanted.kind === BtfKind.FUNC && name === spec.attachTo) {
    only = spec.attachTo!.slice(0, colon);
    name = spec.attachTo!.slice(colon + 1);
  }
  for (const k of sources) {
    if (only && k.name !== only) continue;
    // A module's split BTF also holds vmlinux's types, which `find` searches first: look at its own only
    // (a static function of the module may share a name with one of vmlinux, as libbpf allows for module:function).
    const t = k.name === 'vmlinux' ? k.btf.find(name, wanted.kind) : ownType(k.btf, name, wanted.kind);
    if (t) return { id: t.id, module: k.name, typeName: name };
  }
  return undefined;
}

/** The first type of this name and kind that a (split) BTF defines itself. */
function ownType(btf: Btf, name: string, kind: number): BtfType | undefined {
  for (const id of btf.idsByEssentialName(essentialName(name), kind === BtfKind.FUNC ? 'functions' : 'types')) {
    const t = btf.type(id);
    if (t && t.name === name && t.kind === kind) return t;
  }
  return undefined;
}
