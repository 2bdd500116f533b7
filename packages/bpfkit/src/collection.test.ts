import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapMismatchError, MapType, NotSupportedError, VerifierError } from '@bpfkit/core';
import type { Link, Program } from '@bpfkit/core';
import { parseKernelConfig, readObject } from '@bpfkit/elf';
import { createKernelMap } from '@bpfkit/maps';
import { enableRunStats, listLinks, openProgramById } from '@bpfkit/attach';
import { kernelFeatureSupport, mountPrivateBpffs } from '@bpfkit/syscalls';
import { expect, it } from 'vitest';
import { loadCollection } from './collection.js';
import { kallsymsAddresses } from './kernel/kallsyms.js';
import { kernelConfig, kernelConfigSource, linuxKernelVersion } from '@bpfkit/syscalls';
import { kernelHas, whenKernel } from '@bpfkit/syscalls/testing';

/** The config values the externs object reads, for a kernel whose config file is not on the machine. */
const FALLBACK_KCONFIG = 'CONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\nCONFIG_HZ=250\nCONFIG_LOCALVERSION="-guest"\n';

const elfTestdata = path.resolve(import.meta.dirname, '../../elf/testdata');
const object = path.join(elfTestdata, 'basics.bpf.o');
const rejected = path.resolve(import.meta.dirname, '../testdata/rejected.bpf.o');
const fds = () => fs.readdirSync('/proc/self/fd').length;
const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const s32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getInt32(off, true);
const u64At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

/** The offset of a global in its section, from the object's BTF. */
function offsetOf(file: string, section: string, name: string): number {
  const spec = readObject(new Uint8Array(fs.readFileSync(file)));
  const v = spec.globals[section]!.variables.find((x) => x.name === name);
  if (!v) throw new Error(`no global ${name} in ${section}`);
  return v.offset;
}

whenKernel().describe('loading a clang object on the kernel', () => {
  it('creates the maps with their BTF types, loads the programs with func and line info, and the programs use them', () => {
    using coll = loadCollection(object, { constants: { target_pid: 77 }, ignorePinning: true });
    expect(Object.keys(coll.maps).sort()).toEqual(['.bss', '.data', '.rodata', 'events', 'flows', 'outer']);
    expect(coll.warnings).toEqual([]);
    const flows = coll.maps.flows!.info();
    expect(flows).toMatchObject({ type: MapType.HASH, keySize: 12, valueSize: 8, maxEntries: 1024 });
    // Key and value carry the object's BTF types (struct flow, __u64), as bpftool map dump would show them.
    expect(flows.btfId).toBeGreaterThan(0);
    expect(flows.btfKeyTypeId).toBeGreaterThan(0);
    expect(flows.btfValueTypeId).toBeGreaterThan(0);
    expect(coll.maps['.bss']!.info().btfValueTypeId).toBeGreaterThan(0);
    expect(coll.maps['.rodata']!.info().frozen).toBe(true);
    const xdp = coll.programs.count_packets!;
    // XDP_PASS: add_one(XDP_PASS - 1 + delta + 1) with delta = -1.
    expect(xdp.testRun({ data: new Uint8Array(64) }).returnValue).toBe(2);
    expect(xdp.testRun({ data: new Uint8Array(64) }).returnValue).toBe(2);
    expect(xdp.info().btfId).toBe(flows.btfId);
    // The program counted both runs in .bss and keyed its flow by the rewritten constant.
    const bss = coll.maps['.bss']!.lookup(new Uint8Array(4))!;
    expect(u64At(bss, offsetOf(object, '.bss', 'packets'))).toBe(2n);
    const [[key, value]] = [...coll.maps.flows!.entries()];
    expect(u32At(key!, 0)).toBe(77);
    expect(u64At(value!, 0)).toBe(2n);
    expect(coll.programs.trace_openat!.info().mapIds.length).toBe(2);
  });

  it('refuses constants the object does not have, and closing a collection closes its maps and programs', () => {
    const before = fds();
    expect(() => loadCollection(object, { constants: { nope: 1 }, ignorePinning: true })).toThrow(/one of the object's read-only globals/);
    expect(fds()).toBe(before);
    const coll = loadCollection(object, { ignorePinning: true });
    coll.close();
    expect(fds()).toBe(before);
  });

  it('pins maps declared pinned by name, reuses a compatible pin and refuses an incompatible one', () => {
    expect(() => loadCollection(object)).toThrow(InvalidArgumentError);
    expect(() => loadCollection(object)).toThrow(/map 'flows' \(pinning: by name\).*pinPath/);
    using fsys = mountPrivateBpffs();
    let firstId: number;
    {
      using first = loadCollection(object, { pinPath: fsys.dir });
      firstId = first.maps.flows!.info().id;
      first.maps.flows!.update(new Uint8Array(12).fill(1), new Uint8Array(8).fill(2));
    }
    // The pin outlives the collection; a second load shares the same map and its contents.
    expect(fs.existsSync(path.join(fsys.dir, 'flows'))).toBe(true);
    {
      using second = loadCollection(object, { pinPath: fsys.dir });
      expect(second.maps.flows!.info().id).toBe(firstId);
      expect(second.maps.flows!.lookup(new Uint8Array(12).fill(1))).toEqual(new Uint8Array(8).fill(2));
    }
    fs.rmSync(path.join(fsys.dir, 'flows'));
    using wrong = createKernelMap({ name: 'flows', type: MapType.HASH, keySize: 12, valueSize: 16, maxEntries: 1024 });
    wrong.pin(path.join(fsys.dir, 'flows'));
    const before = fds();
    expect(() => loadCollection(object, { pinPath: fsys.dir })).toThrow(MapMismatchError);
    expect(fds()).toBe(before);
  });

  it('uses replacement maps after checking them, and leaves them open', () => {
    using events = createKernelMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 16 });
    {
      using coll = loadCollection(object, { mapReplacements: { events }, ignorePinning: true });
      expect(coll.maps.events).toBe(events);
    }
    expect(events.closed).toBe(false);
    using small = createKernelMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 12 });
    expect(() => loadCollection(object, { mapReplacements: { events: small }, ignorePinning: true })).toThrow(/max_entries|maxEntries/);
    expect(() => loadCollection(object, { mapReplacements: { nope: small }, ignorePinning: true })).toThrow(InvalidArgumentError);
  });

  it('resolves kconfig values, typed and typeless ksyms and kfuncs, and leaves a weak missing kfunc uncalled', async () => {
    const file = path.join(elfTestdata, 'externs.bpf.o');
    // Where the kernel's config is not on the machine (a guest booted from a bare kernel image), options.kconfig gives it.
    using coll = loadCollection(file, kernelConfigSource() ? {} : { kconfig: FALLBACK_KCONFIG });
    expect(coll.programs.read_externs!.testRun({ data: new Uint8Array(64) }).returnValue).toBe(1);
    const bss = coll.maps['.bss']!.lookup(new Uint8Array(4))!;
    const at = (name: string) => offsetOf(file, '.bss', name);
    const config = kernelConfigSource() ? kernelConfig() : parseKernelConfig(FALLBACK_KCONFIG);
    expect(u32At(bss, at('kernel_version'))).toBe(linuxKernelVersion());
    expect(u32At(bss, at('bpf_syscall'))).toBe(config.get('CONFIG_BPF_SYSCALL') === 'y' ? 1 : 0);
    expect(u32At(bss, at('bpf_jit'))).toBe({ y: 1, m: 2 }[config.get('CONFIG_BPF_JIT') ?? 'n'] ?? 0);
    expect(s32At(bss, at('hz'))).toBe(Number(config.get('CONFIG_HZ')));
    const localversion = bss.subarray(at('localversion'), at('localversion') + 16);
    expect(new TextDecoder().decode(localversion.subarray(0, localversion.indexOf(0)))).toBe(
      (config.get('CONFIG_LOCALVERSION') ?? '""').slice(1, -1).slice(0, 15),
    );
    expect(u32At(bss, at('missing_option'))).toBe(0);
    expect(u64At(bss, at('sys_bpf_address'))).toBe(kallsymsAddresses(['__x64_sys_bpf']).get('__x64_sys_bpf'));
    // The rcu kfuncs arrived in 6.2: declared weak, they are called only where the kernel has them.
    const { vmlinuxBtf } = await import('./kernel/kernel-btf.js');
    const { BtfKind } = await import('@bpfkit/elf');
    expect(u32At(bss, at('kfunc_exists'))).toBe(vmlinuxBtf().find('bpf_rcu_read_lock', BtfKind.FUNC) ? 1 : 0);
    expect(u32At(bss, at('missing_kfunc_exists'))).toBe(0);
    // bpf_prog_active is a per-CPU int the program reads through bpf_this_cpu_ptr() (a small count, never the -1 it
    // starts as) when the kernel can resolve it: only with its data symbols in kallsyms (CONFIG_KALLSYMS_ALL).
    const data = coll.maps['.data']!.lookup(new Uint8Array(4))!;
    const prog_active = s32At(data, offsetOf(file, '.data', 'prog_active'));
    if (kallsymsAddresses(['bpf_prog_active']).has('bpf_prog_active')) expect(prog_active).toBeGreaterThanOrEqual(0);
    else expect(prog_active).toBe(-1);
    // The kconfig values live in their own frozen map.
    expect(coll.maps['.kconfig']!.info().frozen).toBe(true);
  });

  it("takes kconfig values from options.kconfig over the kernel's own", () => {
    const file = path.join(elfTestdata, 'externs.bpf.o');
    const base = kernelConfigSource() ? '' : FALLBACK_KCONFIG;
    {
      using coll = loadCollection(file, { kconfig: `${base}CONFIG_HZ=1000\nCONFIG_LOCALVERSION="-given"\n` });
      coll.programs.read_externs!.testRun({ data: new Uint8Array(64) });
      expect(coll.variables.hz!.get()).toBe(1000n);
      expect(new TextDecoder().decode(coll.variables.localversion!.get() as Uint8Array).replace(/\0+$/, '')).toBe('-given');
    }
    {
      using coll = loadCollection(file, { kconfig: { ...Object.fromEntries(parseKernelConfig(base)), CONFIG_HZ: '300' } });
      coll.programs.read_externs!.testRun({ data: new Uint8Array(64) });
      expect(coll.variables.hz!.get()).toBe(300n);
    }
    expect(() => loadCollection(file, { kconfig: { CONFIG_HZ: 3 as unknown as string } })).toThrow(/options\.kconfig: CONFIG_HZ/);
  });

  it('fills prog arrays and map-in-maps initialised in the object, so tail calls and inner maps work', () => {
    const file = path.join(elfTestdata, 'tailcalls.bpf.o');
    const run = (slot: number) => {
      using coll = loadCollection(file, { constants: { slot } });
      const ret = coll.programs.dispatch!.testRun({ data: new Uint8Array(64) }).returnValue;
      return { ret, answer: u64At(coll.maps.answers!.lookup(new Uint8Array(4))!, 0) };
    };
    // XDP_PASS = 2, XDP_DROP = 1, XDP_ABORTED = 0 (an empty slot: the tail call falls through).
    expect(run(0)).toEqual({ ret: 2, answer: 1n });
    expect(run(2)).toEqual({ ret: 1, answer: 1n });
    expect(run(1)).toEqual({ ret: 0, answer: 1n });
  });

  it('loads maps from the legacy maps section', () => {
    using coll = loadCollection(path.join(elfTestdata, 'legacy.bpf.o'));
    expect(coll.maps.legacy_counts!.info()).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    coll.programs.count_legacy!.testRun({ data: new Uint8Array(64) });
    const key = Uint8Array.of(2, 0, 0, 0);
    expect(u64At(coll.maps.legacy_counts!.lookup(key)!, 0)).toBe(1n);
  });

  it('names the program, the instruction and the source line the verifier rejected, and leaks nothing', () => {
    const before = fds();
    let error: unknown;
    try {
      loadCollection(rejected);
    } catch (err) {
      error = err;
    }
    expect(fds()).toBe(before);
    expect(error).toBeInstanceOf(VerifierError);
    const v = error as VerifierError;
    expect(v.program).toBe('unchecked_lookup');
    expect(v.instruction).toBeGreaterThan(0);
    expect(v.message).toMatch(/program 'unchecked_lookup'/);
    expect(v.message).toMatch(/invalid mem access/);
    // Line info made the kernel annotate the log with the C source.
    expect(v.log).toMatch(/return \*v;/);
    // The source line; since 6.4 the kernel also names the file and line number.
    expect(v.message).toMatch(/return \*v;/);
    // The program that passes loads alone.
    using fine = loadCollection(rejected, { programs: ['fine'] });
    expect(Object.keys(fine.programs)).toEqual(['fine']);
    expect(() => loadCollection(rejected, { programs: ['nope'] })).toThrow(/one of the object's programs \(fine, unchecked_lookup\)/);
  });

  it('refuses an object in the other byte order, and files it cannot read', () => {
    expect(() => loadCollection(path.join(elfTestdata, 'basics.bpf.eb.o'))).toThrow(/byte order/);
    expect(() => loadCollection('/nonexistent/prog.bpf.o')).toThrow(/object: expected a readable BPF object file \(ENOENT\)/);
    const before = fds();
    expect(() => loadCollection(path.join(elfTestdata, 'core.bpf.o'), { kernelBtf: '/nonexistent/vmlinux' })).toThrow(
      /options\.kernelBtf: expected a readable BTF file \(ENOENT\)/,
    );
    expect(fds()).toBe(before);
  });

  it.skipIf(kallsymsAddresses(['bpf_prog_active']).has('bpf_prog_active'))(
    'refuses a strong typed ksym the kernel cannot resolve, saying why',
    () => {
      const spec = readObject(new Uint8Array(fs.readFileSync(path.join(elfTestdata, 'externs.bpf.o'))));
      spec.externs.externs.find((e) => e.name === 'bpf_prog_active')!.weak = false;
      expect(() => loadCollection(spec, kernelConfigSource() ? {} : { kconfig: FALLBACK_KCONFIG })).toThrow(
        /ksym 'bpf_prog_active'.*CONFIG_KALLSYMS_ALL/,
      );
    },
  );

  it('refuses a strong extern the kernel lacks, naming it', () => {
    // The externs object with its weak kfunc made strong: the same bytes with STB_WEAK turned into STB_GLOBAL.
    const spec = readObject(new Uint8Array(fs.readFileSync(path.join(elfTestdata, 'externs.bpf.o'))));
    spec.externs.externs.find((e) => e.name === 'bpfkit_no_such_kfunc')!.weak = false;
    const options = kernelConfigSource() ? {} : { kconfig: FALLBACK_KCONFIG };
    expect(() => loadCollection(spec, options)).toThrow(NotSupportedError);
    expect(() => loadCollection(spec, options)).toThrow(/kfunc 'bpfkit_no_such_kfunc'/);
  });
});

whenKernel().describe('collection variables', () => {
  it('reads and writes globals by name, typed by BTF, and keeps .rodata read-only', () => {
    using coll = loadCollection(object, { constants: { target_pid: 77, delta: -1 }, ignorePinning: true });
    const v = coll.variables;
    expect(v.target_pid!.get()).toBe(77n);
    expect(v.delta!.get()).toBe(-1n);
    expect(v.initialised!.get()).toBe(7n);
    expect(v.packets!.get()).toBe(0n);
    coll.programs.count_packets!.testRun({ data: new Uint8Array(64) });
    expect(v.packets!.get()).toBe(1n);
    v.packets!.set(41n);
    coll.programs.count_packets!.testRun({ data: new Uint8Array(64) });
    expect(v.packets!.get()).toBe(42n);
    expect(v.initialised!.get()).toBe(7n);
    expect(() => v.target_pid!.set(1)).toThrow(/\.rodata is frozen/);
    expect(() => v.packets!.set(-1)).toThrow(/from 0 to 18446744073709551615/);
    expect(() => v.packets!.set(Uint8Array.of(1))).toThrow(/8 bytes/);
  });
});

whenKernel('kernel-btf').describe('programs verified against kernel BTF', () => {
  const file = path.resolve(import.meta.dirname, '../testdata/tracing.bpf.o');

  it('loads a tp_btf program with the attach BTF id of its tracepoint and its CO-RE reads relocated', async () => {
    const { vmlinuxBtf } = await import('./kernel/kernel-btf.js');
    using coll = loadCollection(file, { programs: ['on_switch'] });
    const info = coll.programs.on_switch!.info();
    expect(info.attachBtfId).toBe(vmlinuxBtf().find('btf_trace_sched_switch')!.id);
    expect(info.attachBtfObjId).toBeGreaterThan(0);
  });

  whenKernel('program:tracing').it('loads fentry', () => {
    using coll = loadCollection(file, { programs: ['on_unlink'] });
    expect(coll.programs.on_unlink!.info().attachBtfId).toBeGreaterThan(0);
  });

  // Where the probe says the kernel refuses tracing programs here (lockdown), the loader must say so too.
  const tracing = kernelFeatureSupport('program:tracing');
  const refused = tracing.state === 'refused';
  it.skipIf(!refused)(
    `says the kernel refuses fentry here, naming lockdown${refused ? '' : ` — skipped: tracing programs are ${tracing.state} here`}`,
    () => {
      expect(() => loadCollection(file, { programs: ['on_unlink'] })).toThrow(/EPERM.*lockdown|lockdown.*EPERM/s);
    },
  );

  it('names a tracing target the kernel does not have', () => {
    const spec = readObject(new Uint8Array(fs.readFileSync(file)));
    spec.programs.on_unlink!.attachTo = 'bpfkit_no_such_function';
    expect(() => loadCollection(spec, { programs: ['on_unlink'] })).toThrow(NotSupportedError);
    expect(() => loadCollection(spec, { programs: ['on_unlink'] })).toThrow(
      /attach target 'bpfkit_no_such_function' of program 'on_unlink'/,
    );
  });
});

whenKernel('kernel-btf').describe('CO-RE on the kernel', () => {
  const file = path.join(elfTestdata, 'core.bpf.o');
  const slots = (coll: { maps: Record<string, { lookup(k: Uint8Array): unknown }> }) => {
    const bss = coll.maps['.bss']!.lookup(new Uint8Array(4)) as Uint8Array;
    return (slot: number) => u64At(bss, offsetOf(file, '.bss', 'results') + slot * 8);
  };

  it('relocates field, type and enum accesses against this kernel, and the programs read what the kernel has', async () => {
    const { vmlinuxBtf } = await import('./kernel/kernel-btf.js');
    const { BtfKind, btfSizeOf } = await import('@bpfkit/elf');
    const kernel = vmlinuxBtf();
    const task = kernel.find('task_struct', BtfKind.STRUCT)!;
    using coll = loadCollection(file);
    coll.programs.core_fields!.testRun({ data: new Uint8Array(64) });
    coll.programs.core_types!.testRun({ data: new Uint8Array(64) });
    coll.programs.core_direct!.testRun({ data: new Uint8Array(64) });
    const at = slots(coll);
    expect(at(0)).toBe(BigInt(task.members!.find((m) => m.name === 'pid')!.bitOffset / 8));
    expect(at(1)).toBeGreaterThan(0n);
    expect(at(2)).toBe(BigInt(process.pid));
    expect(at(3)).toBe(BigInt(process.ppid));
    expect([at(4), at(5), at(6), at(7)]).toEqual([16n, 1n, 0n, 0x600dn]);
    expect(at(13) === 0n || at(13) === 1n).toBe(true);
    expect(at(16)).toBe(1n);
    expect(at(17)).toBe(0n);
    expect(at(18)).toBe(BigInt(btfSizeOf(kernel, task.id)));
    expect(at(19)).toBe(BigInt(task.id));
    expect(at(20)).toBe(BigInt(readObject(new Uint8Array(fs.readFileSync(file))).btf!.find('task_struct', BtfKind.STRUCT)!.id));
    expect([at(21), at(22), at(23), at(24), at(25), at(26)]).toEqual([1n, 0n, 1n, 0n, 30n, 158n]);
    expect(at(32)).toBe(BigInt(process.pid));
    expect(at(33)).not.toBe(0n);
    expect(at(34)).toBe(BigInt(process.ppid));
    expect(at(35)).toBe(BigInt(process.ppid));
  });

  // Re-encoding the whole kernel BTF takes a second here and ten in a TCG guest.
  it('names the CO-RE relocation when the verifier reaches an access the kernel cannot satisfy', { timeout: 60_000 }, async () => {
    const { vmlinuxBtf } = await import('./kernel/kernel-btf.js');
    const { BtfKind, encodeBtf } = await import('@bpfkit/elf');
    const { CoreRelocationError } = await import('@bpfkit/elf');
    // This kernel's BTF, except that task_struct.pid is called something else: as if the field were gone.
    const types = vmlinuxBtf().types.map((t) =>
      t.kind === BtfKind.STRUCT && t.name === 'task_struct'
        ? { ...t, members: t.members!.map((m) => (m.name === 'pid' ? { ...m, name: 'pid_was_here' } : m)) }
        : t,
    );
    const before = fds();
    let error: unknown;
    try {
      loadCollection(file, { kernelBtf: encodeBtf(types), programs: ['core_fields'] }).close();
    } catch (err) {
      error = err;
    }
    expect(fds()).toBe(before);
    expect(error).toBeInstanceOf(CoreRelocationError);
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as Error).message).toMatch(/program 'core_fields'/);
    expect((error as InstanceType<typeof CoreRelocationError>).relocation).toMatch(/task_struct/);
    expect((error as Error).message).toMatch(/CO-RE: .*task_struct/);
  });
});

whenKernel('kernel-btf', 'map:struct_ops').describe('struct_ops through loadCollection', () => {
  it('creates the struct_ops map, loads its programs against the kernel struct and fills the map, registering nothing', () => {
    const before = fds();
    if (!kernelHas('struct-ops-link')) {
      // .struct_ops.link maps (BPF_F_LINK) arrived in 6.4; older kernels only say EINVAL, the loader says why.
      expect(() => loadCollection(path.join(elfTestdata, 'struct_ops.bpf.o'))).toThrow(/BPF_F_LINK.*requires at least Linux 6\.4/);
      expect(fds()).toBe(before);
      return;
    }
    {
      using coll = loadCollection(path.join(elfTestdata, 'struct_ops.bpf.o'));
      expect(coll.warnings).toEqual([]);
      const ops = Object.entries(coll.maps).find(([, m]) => m.info().type === MapType.STRUCT_OPS);
      expect(ops).toBeDefined();
      for (const p of Object.values(coll.programs)) expect(p.info().attachBtfId).toBeGreaterThan(0);
      // A .struct_ops.link map only stores the ops: the congestion control is not registered.
      expect(fs.readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8')).not.toMatch(/bpfkit/);
    }
    expect(fds()).toBe(before);
  });
});

const openatTracepoint = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].some((t) =>
  fs.existsSync(`${t}/events/syscalls/sys_enter_openat`),
);

whenKernel('program:tracepoint', 'link:perf_event')
  .unless(openatTracepoint ? undefined : 'no syscalls:sys_*_openat tracepoints in tracefs (CONFIG_FTRACE_SYSCALLS)')
  .it("tracepoint: closing a collection detaches the links its programs' attach() made; a pinned one stays until unpinned", () => {
    using _stats = enableRunStats();
    using fsys = mountPrivateBpffs();
    const pin = path.join(fsys.dir, 'openat_link');
    const enter = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } as const;
    const openat = () => fs.closeSync(fs.openSync('/proc/self/stat', 'r'));
    /**
     * The program no longer runs: ten openat calls of this thread would run it ten times if it were attached;
     * a run that another CPU began before the detach may still finish and count, so a few are allowed. The
     * last reference to a link (a removed pin's) is released by a work item (bpf_link_put defers it,
     * kernel/bpf/syscall.c), which a busy machine may run a little later: tried for up to a second.
     */
    const expectStopped = (runs: () => bigint) => {
      const pause = new Int32Array(new SharedArrayBuffer(4));
      let counted = 0n;
      for (let attempt = 0; attempt < 100; attempt++) {
        const before = runs();
        for (let i = 0; i < 10; i++) openat();
        counted = runs() - before;
        if (counted < 10n) break;
        Atomics.wait(pause, 0, 0, 10);
      }
      expect(counted).toBeLessThan(10n);
    };
    const live = (linkId: number) => listLinks().some((l) => l.id === linkId);
    /** Loads the object, attaches through `attach`, and returns a second handle on the program to count its runs after the collection is gone. */
    const scenario = (attach: (prog: Program) => void) => {
      const coll = loadCollection(object, { ignorePinning: true });
      try {
        const prog = coll.programs.trace_openat!;
        const watch = openProgramById(prog.info().id);
        attach(prog);
        return { coll, watch, runs: () => watch.info().runCount };
      } catch (err) {
        coll.close();
        throw err;
      }
    };
    try {
      // A link nobody pinned: gone with the collection, and the program stops running.
      let link!: Link;
      {
        const s = scenario((prog) => {
          link = prog.attach(enter);
        });
        using _watch = s.watch;
        const id = link.info().id!;
        const before = s.runs();
        openat();
        expect(s.runs()).toBeGreaterThan(before);
        s.coll.close();
        expect([link.closed, s.coll.programs.trace_openat!.closed]).toEqual([true, true]);
        expect(live(id)).toBe(false);
        expectStopped(s.runs);
      }
      // A pinned link: its handle closes with the collection, the pin keeps it attached until removed.
      {
        let pinned!: Link;
        const s = scenario((prog) => {
          pinned = prog.attach(enter);
          pinned.pin(pin);
        });
        using _watch = s.watch;
        const id = pinned.info().id!;
        s.coll.close();
        expect([pinned.closed, live(id)]).toEqual([true, true]);
        const before = s.runs();
        openat();
        expect(s.runs()).toBeGreaterThan(before);
        fs.rmSync(pin);
        expect(live(id)).toBe(false);
        expectStopped(s.runs);
      }
    } finally {
      fs.rmSync(pin, { force: true });
    }
  });
