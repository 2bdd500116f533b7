import {
  BpfError,
  Errno,
  InvalidArgumentError,
  MapFlags,
  MapType,
  kernelReleaseAtLeast,
  NotSupportedError,
  ProgramType,
} from '@bpfkit/core';
import type { Map, MapSpec, Program } from '@bpfkit/core';
import { BtfKind } from '../btf/kinds.js';
import { btfSizeOf, skipModifiers } from '../maps/btf-maps.js';
import { ParseError } from '../errors.js';
import { structOpsUses } from '../maps/struct-ops.js';
import type { Btf, BtfType } from '../btf/parse.js';
import type { ObjectSpec } from '../object.js';
import type { StructOpsMapSpec } from '../maps/struct-ops.js';
import type { KernelBtf } from './kernel-btf.js';

/**
 * The prefix of the kernel's wrapper struct of a struct_ops value.
 *
 * @example
 * vmlinuxBtf().find(`${STRUCT_OPS_VALUE_PREFIX}tcp_congestion_ops`); // struct bpf_struct_ops_tcp_congestion_ops
 */
export const STRUCT_OPS_VALUE_PREFIX = 'bpf_struct_ops_';

/**
 * What a struct_ops program is loaded with: the kernel struct it implements
 * a member of (`attach_btf_id`), that member's index in the kernel's struct
 * (`expected_attach_type`), and the kernel BTF holding the struct.
 *
 * @example
 * const p: StructOpsProgramLoad = { attachBtfId: 14441, expectedAttachType: 0, module: 'vmlinux' };
 */
export interface StructOpsProgramLoad {
  attachBtfId: number;
  expectedAttachType: number;
  /** `vmlinux` or the module whose BTF holds the struct (then `attach_btf_obj_fd` is that module's BTF fd). */
  module: string;
}

/**
 * One struct_ops map, laid out for the kernel: its create spec and the
 * value to store once its programs are loaded.
 *
 * @example
 * declare const plan: StructOpsPlan;
 * plan.maps[0].spec; // { name: 'bpfkit_cc', type: MapType.STRUCT_OPS, keySize: 4, valueSize: 256, maxEntries: 1, flags: MapFlags.LINK }
 */
export interface StructOpsMapPlan {
  name: string;
  /** The kernel struct the map implements, e.g. `tcp_congestion_ops`. */
  kernelTypeName: string;
  /** BPF_MAP_TYPE_STRUCT_OPS, key 4, value `sizeof(struct bpf_struct_ops_X)`, one entry, BPF_F_LINK for `.struct_ops.link`. */
  spec: MapSpec;
  /** `vmlinux` or the module whose BTF has the struct (then the map is created with its BTF fd, BPF_F_VTYPE_BTF_OBJ_FD). */
  module: string;
  /** The kernel's `struct X`. */
  kernelTypeId: number;
  /** The kernel's `struct bpf_struct_ops_X`: `btf_vmlinux_value_type_id`. */
  valueTypeId: number;
  /** The value (host byte order): the object's non-function members in the kernel's layout, everything else zero. */
  value: Uint8Array;
  /** Function pointer slots of {@link value} that get a program's fd, by byte offset in the value. */
  slots: { member: string; program: string; offset: number }[];
}

/**
 * Everything struct_ops needs from the kernel's BTF, before anything is
 * created: the maps' layouts and each program's attach ids.
 *
 * @example
 * const spec = readObject(fs.readFileSync('cc.bpf.o'));
 * const plan = prepareStructOps(spec, kernelBtfs, Object.keys(spec.programs));
 * plan.programs.bpfkit_ssthresh; // { attachBtfId: 14441, expectedAttachType: 0, module: 'vmlinux' }
 */
export interface StructOpsPlan {
  /** The maps to create (not those of `?.struct_ops*` sections, which libbpf leaves out unless asked). */
  maps: StructOpsMapPlan[];
  /** Load extras of every struct_ops program a created map points to, by program name. */
  programs: Record<string, StructOpsProgramLoad>;
  /** struct_ops programs pointed to only by maps left out (`?.struct_ops*`): not to be loaded, as libbpf turns their autoload off. */
  skipped: string[];
}

/** A struct_ops type found in the kernel's BTF: where, its struct, its wrapper struct, and where the wrapper holds it. */
export interface KernelStructOps {
  module: string;
  btf: Btf;
  type: BtfType;
  valueType: BtfType;
  /** Byte offset of the member of `bpf_struct_ops_X` holding `X`. */
  dataOffset: number;
}

/**
 * Finds a struct_ops type in the kernel's BTF as libbpf does: the wrapper
 * `struct bpf_struct_ops_<name>` in vmlinux first, then in the modules, and
 * `struct <name>` in the same BTF, held by one of the wrapper's members.
 *
 * @throws NotSupportedError when the kernel (and its loaded modules) has no such struct_ops type
 * @example
 * findKernelStructOps('tcp_congestion_ops', kernelBtfs()); // { module: 'vmlinux', type: { id: 14441, … }, valueType: { id: 43261, … }, dataOffset: 64, … }
 */
export function findKernelStructOps(name: string, kernel: readonly KernelBtf[], what = `struct_ops type '${name}'`): KernelStructOps {
  const wrapper = `${STRUCT_OPS_VALUE_PREFIX}${name}`;
  for (const k of kernel) {
    const valueType = k.btf.find(wrapper, BtfKind.STRUCT);
    if (!valueType || (k.name !== 'vmlinux' && valueType.id < k.btf.firstTypeId)) continue;
    const type = k.btf.find(name, BtfKind.STRUCT);
    if (!type) throw new NotSupportedError(what, undefined, `the BTF of ${k.name} has struct ${wrapper} but no struct ${name}`);
    const data = valueType.members?.find((m) => skipModifiers(k.btf, m.type).id === type.id);
    if (!data) throw new NotSupportedError(what, undefined, `struct ${wrapper} of ${k.name} holds no struct ${name}`);
    return { module: k.name, btf: k.btf, type, valueType, dataOffset: data.bitOffset / 8 };
  }
  throw new NotSupportedError(
    what,
    undefined,
    `the kernel's BTF (vmlinux and loaded modules) has no struct ${wrapper}: nothing in this kernel takes ${name} from BPF`,
  );
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);
const kindName = (kind: number) => (Object.entries(BtfKind).find(([, k]) => k === kind)?.[0] ?? `kind ${kind}`).toLowerCase();

/** The function prototype a member points to, or undefined when it is not a function pointer. */
function funcProto(btf: Btf, type: number): BtfType | undefined {
  const ptr = skipModifiers(btf, type);
  if (ptr.kind !== BtfKind.PTR) return undefined;
  const target = skipModifiers(btf, ptr.sizeOrType);
  return target.kind === BtfKind.FUNC_PROTO ? target : undefined;
}

/** Lays one map out for the kernel and records its programs' attach ids in `programs`. */
function planMap(
  spec: ObjectSpec,
  m: StructOpsMapSpec,
  kernel: readonly KernelBtf[],
  programs: Record<string, StructOpsProgramLoad & { map: string }>,
): StructOpsMapPlan {
  const btf = spec.btf!;
  const what = `struct_ops map '${m.name}' (struct ${m.typeName})`;
  const k = findKernelStructOps(m.kernelTypeName, kernel, what);
  const local = btf.type(m.typeId)!;
  const value = new Uint8Array(k.valueType.sizeOrType);
  const slots: StructOpsMapPlan['slots'] = [];
  const kernelMembers = k.type.members ?? [];
  const byMember = new globalThis.Map(m.functions.map((f) => [f.memberIndex, f]));
  (local.members ?? []).forEach((member, i) => {
    const offset = member.bitOffset / 8;
    const fn = byMember.get(i);
    const size = btfSizeOf(btf, member.type);
    const bytes = m.data.subarray(offset, offset + size);
    const kernelIndex = kernelMembers.findIndex((x) => x.name === member.name);
    const kernelMember = kernelMembers[kernelIndex];
    if (!kernelMember) {
      // libbpf's rule: a member the kernel lacks may only be left unset.
      if (fn || !isZero(bytes)) {
        throw new NotSupportedError(
          `member '${member.name}' of ${what}`,
          undefined,
          `the kernel's struct ${m.kernelTypeName} (${k.module}) has no member '${member.name}'${fn ? ` for program '${fn.program}'` : ''}`,
        );
      }
      return;
    }
    if (member.bitfieldSize || kernelMember.bitfieldSize) {
      throw new NotSupportedError(`member '${member.name}' of ${what}`, undefined, 'struct_ops members may not be bitfields');
    }
    const localKind = skipModifiers(btf, member.type).kind;
    const kernelKind = skipModifiers(k.btf, kernelMember.type).kind;
    if (localKind !== kernelKind) {
      throw new NotSupportedError(
        `member '${member.name}' of ${what}`,
        undefined,
        `its type (${kindName(localKind)}) is not of the kernel's kind (${kindName(kernelKind)})`,
      );
    }
    const at = k.dataOffset + kernelMember.bitOffset / 8;
    if (localKind === BtfKind.PTR) {
      if (!fn) return; // a null pointer: the value keeps zero
      if (!funcProto(k.btf, kernelMember.type)) {
        throw new NotSupportedError(
          `member '${member.name}' of ${what}`,
          undefined,
          `the kernel's member is not a function pointer, so program '${fn.program}' cannot implement it`,
        );
      }
      const load = { attachBtfId: k.type.id, expectedAttachType: kernelIndex, module: k.module, map: m.name };
      const earlier = programs[fn.program];
      if (
        earlier &&
        (earlier.attachBtfId !== load.attachBtfId ||
          earlier.expectedAttachType !== load.expectedAttachType ||
          earlier.module !== load.module)
      ) {
        throw new InvalidArgumentError(
          `program '${fn.program}'`,
          `one struct_ops member per program (it implements member ${earlier.expectedAttachType} of map '${earlier.map}')`,
          `member '${member.name}' (${kernelIndex}) of map '${m.name}' too`,
        );
      }
      programs[fn.program] = load;
      slots.push({ member: member.name, program: fn.program, offset: at });
      return;
    }
    const kernelSize = btfSizeOf(k.btf, kernelMember.type);
    if (kernelSize !== size) {
      throw new NotSupportedError(
        `member '${member.name}' of ${what}`,
        undefined,
        `it has ${size} bytes in the object and ${kernelSize} in the kernel`,
      );
    }
    value.set(bytes, at);
  });
  const spec_: MapSpec = {
    name: m.name,
    type: MapType.STRUCT_OPS,
    keySize: 4,
    valueSize: value.byteLength,
    maxEntries: 1,
    flags: m.link ? MapFlags.LINK : 0,
  };
  return {
    name: m.name,
    kernelTypeName: m.kernelTypeName,
    spec: spec_,
    module: k.module,
    kernelTypeId: k.type.id,
    valueTypeId: k.valueType.id,
    value,
    slots,
  };
}

/**
 * Resolves an object's struct_ops maps against the kernel's BTF, as
 * libbpf's `bpf_map__init_kern_struct_ops` does, before anything is
 * created: finds `struct X` and `struct bpf_struct_ops_X` (vmlinux, then
 * modules), copies each non-function member of the object's struct into
 * the kernel's layout by name (sizes must agree; members the kernel lacks
 * must be unset), and gives each program it points to the kernel struct's
 * id and the member's index in the kernel's struct. Pure: no system call.
 *
 * @param selected the programs to be loaded; a struct_ops program among
 *   them that no map points to is refused (the kernel could not verify it)
 * @param kernel the kernel's BTF, read only when the object has struct_ops maps
 * @throws NotSupportedError naming the type or member the kernel lacks
 * @throws InvalidArgumentError for a program no map points to, or one
 *   pointed to from two different members
 * @example
 * const spec = readObject(fs.readFileSync('cc.bpf.o'));
 * const plan = prepareStructOps(spec, () => kernelBtfs(), Object.keys(spec.programs));
 */
export function prepareStructOps(spec: ObjectSpec, kernel: () => readonly KernelBtf[], selected: readonly string[]): StructOpsPlan {
  const all = Object.values(spec.structOps ?? {});
  for (const m of all) {
    if (Object.hasOwn(spec.maps, m.name)) throw new ParseError('ELF', `'${m.name}' names both a struct_ops map and a map`);
    if (Object.hasOwn(spec.programs, m.name)) throw new ParseError('ELF', `'${m.name}' names both a struct_ops map and a program`);
  }
  const created = all.filter((m) => !m.optional);
  const programs: Record<string, StructOpsProgramLoad & { map: string }> = {};
  const maps = created.length ? created.map((m) => planMap(spec, m, kernel(), programs)) : [];
  const uses = structOpsUses(spec.structOps ?? {});
  const skipped: string[] = [];
  for (const name of selected) {
    const p = spec.programs[name];
    if (!p || p.type !== ProgramType.STRUCT_OPS || programs[name]) continue;
    if (uses[name]?.length) {
      skipped.push(name);
      continue;
    }
    throw new InvalidArgumentError(
      `program '${name}' (section ${p.section})`,
      'a struct_ops program that a struct_ops map of the object points to (or leave it out with options.programs)',
      'one no struct_ops map points to',
    );
  }
  const out: Record<string, StructOpsProgramLoad> = {};
  for (const [name, { map: _map, ...load }] of Object.entries(programs)) out[name] = load;
  return { maps, programs: out, skipped };
}

/**
 * The extras a struct_ops program is loaded with, for `loadKernelProgram`:
 * `expectedAttachType` for its spec, `attachBtfId` and (for a module's
 * struct) `attachBtfObjFd` for its options. Undefined for other programs.
 *
 * @example
 * declare const spec: ObjectSpec, plan: StructOpsPlan;
 * declare function moduleBtfFd(module: string): number; // 'vmlinux' → 0, a module → its BTF fd
 * const extra = structOpsLoadExtras(plan, 'bpfkit_ssthresh', moduleBtfFd);
 * if (extra) {
 *   loadKernelProgram({ ...spec.programs.bpfkit_ssthresh, expectedAttachType: extra.expectedAttachType },
 *     { attachBtfId: extra.attachBtfId, attachBtfObjFd: extra.attachBtfObjFd });
 * }
 */
export function structOpsLoadExtras(
  plan: StructOpsPlan,
  program: string,
  moduleBtfFd: (module: string) => number,
): { expectedAttachType: number; attachBtfId: number; attachBtfObjFd: number } | undefined {
  const p = Object.hasOwn(plan.programs, program) ? plan.programs[program] : undefined;
  if (!p) return undefined;
  return {
    expectedAttachType: p.expectedAttachType,
    attachBtfId: p.attachBtfId,
    attachBtfObjFd: p.module === 'vmlinux' ? 0 : moduleBtfFd(p.module),
  };
}

const ZERO_KEY = new Uint8Array(4);

/**
 * Stores each struct_ops map's value once its programs are loaded: the
 * planned value with every function pointer slot holding its program's fd
 * (the kernel reads the fd from the 8-byte pointer, and reports the
 * program's id there in lookups). For a `.struct_ops.link` map this only
 * stores the value (a link registers it); for a plain `.struct_ops` map
 * the update registers the ops with the kernel. A map whose programs were
 * not all loaded (left out with `options.programs`) is left empty, and a
 * warning says so.
 *
 * @returns warnings for maps left empty
 * @example
 * declare const plan: StructOpsPlan, maps: Record<string, Map>, programs: Record<string, Program>;
 * const warnings = fillStructOpsMaps(plan, maps, programs);
 */
export function fillStructOpsMaps(
  plan: StructOpsPlan,
  maps: Readonly<Record<string, Map>>,
  programs: Readonly<Record<string, Program>>,
): string[] {
  const warnings: string[] = [];
  for (const m of plan.maps) {
    const map = maps[m.name];
    if (!map) throw new InvalidArgumentError(`struct_ops map '${m.name}'`, 'a created map of that name', undefined);
    const missing = m.slots.filter((s) => !Object.hasOwn(programs, s.program)).map((s) => s.program);
    if (missing.length) {
      warnings.push(
        `struct_ops map '${m.name}' was left empty: its program${missing.length > 1 ? 's' : ''} ${missing.map((p) => `'${p}'`).join(', ')} ${missing.length > 1 ? 'were' : 'was'} not loaded`,
      );
      continue;
    }
    const value = m.value.slice();
    const view = new DataView(value.buffer);
    for (const s of m.slots) view.setBigUint64(s.offset, BigInt(programs[s.program]!.fd), true);
    try {
      map.update(ZERO_KEY, value);
    } catch (err) {
      throw explainUpdateFailure(err, m);
    }
  }
  return warnings;
}

/** The kernel's refusal of a struct_ops value, with what the kernel checks at that point. */
function explainUpdateFailure(err: unknown, m: StructOpsMapPlan): unknown {
  if (!(err instanceof BpfError)) return err;
  const struct = `struct ${m.kernelTypeName}`;
  let hint: string | undefined;
  if (err.errno === Errno.EINVAL) {
    hint =
      `the kernel refused the ${struct} value: a member it requires is unset (tcp_congestion_ops needs ssthresh, undo_cwnd, and cong_avoid or cong_control), ` +
      'or a data member it does not take from BPF is set (only those its subsystem initialises, such as name and flags, may be)';
  } else if (err.errno === Errno.EEXIST) {
    hint = `a ${struct} of that name is already registered with the kernel`;
  } else if (err.errno === Errno.EBUSY) {
    hint = 'the map already holds a value';
  }
  if (!hint) return err;
  return new BpfError(
    err.errno,
    { syscall: err.syscall, command: err.command, subject: `struct_ops map '${m.name}'`, hint },
    { cause: err },
  );
}
