import path from 'node:path';
import { NotSupportedError, VerifierError } from '@bpfkit/core';
import type { Collection, CollectionOptions, System } from '@bpfkit/core';
import { readObject } from '@bpfkit/elf';
import { MOCK_PROGRAM_TYPES, MockSystem } from '@bpfkit/mock';
import { kernelConfig, linuxKernelVersion, possibleCpus } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NativeSystem } from '../native-system.js';

// One loader serves both backends: every test object loaded on the kernel and on the mock, the mock
// given what the kernel's port reads from the machine (its BTF for CO-RE and kfuncs, its config for
// kconfig externs), gives the same collection — the same programs with the same instructions (the
// program tag hashes them as linked: CO-RE relocated, externs and global data addresses written,
// map fds zeroed), the same maps with the same specs, the same variables, map kinds and warnings,
// apart from what the ports answer differently (listed per object below).
const here = import.meta.dirname;
const VMLINUX = '/sys/kernel/btf/vmlinux';
const OBJECTS: Record<string, string> = {
  'elf/basics': path.resolve(here, '../../../elf/testdata/basics.bpf.o'),
  'elf/core': path.resolve(here, '../../../elf/testdata/core.bpf.o'),
  'elf/goebpf_seed': path.resolve(here, '../../../elf/testdata/goebpf_seed.bpf.o'),
  'elf/legacy': path.resolve(here, '../../../elf/testdata/legacy.bpf.o'),
  'elf/shared_subprog': path.resolve(here, '../../../elf/testdata/shared_subprog.bpf.o'),
  'elf/tailcalls': path.resolve(here, '../../../elf/testdata/tailcalls.bpf.o'),
  'bpfkit/callbacks': path.resolve(here, '../../testdata/callbacks.bpf.o'),
  'bpfkit/goebpf': path.resolve(here, '../../testdata/goebpf.bpf.o'),
  'bpfkit/packets': path.resolve(here, '../../testdata/packets.bpf.o'),
  'bpfkit/typed': path.resolve(here, '../../testdata/typed.bpf.o'),
  'examples/packet_counter': path.resolve(here, '../../../../apps/examples/bpf/packet_counter.bpf.o'),
};
/** Programs left out on both backends: the mock's VM lacks their helpers, or the kernel's verifier refuses them. */
const LEFT_OUT: Record<string, string[]> = {
  'bpfkit/callbacks': ['timer', 'find_vma', 'drain'],
  'elf/core': ['core_fields', 'core_direct'], // bpf_get_current_task, bpf_get_current_task_btf
  // A bpf_loop callback in an object without BTF: the kernel wants func_info for it ("missing btf func_info").
  'elf/goebpf_seed': ['seed_xdp'],
};
type Summary = ReturnType<typeof summary>;
/** Where the mock's port answers differently: what the kernel's collection becomes on the mock. */
const PORT_DIFFERENCES: Record<string, (kernel: Summary) => void> = {
  // The mock has no user ring buffer maps: one no loaded program uses is left out, with a warning.
  'bpfkit/callbacks': (s) => {
    delete s.maps.user_rb;
    delete s.mapKinds.user_rb;
    s.warnings = [
      ...s.warnings,
      "map 'user_rb' is not created on the mock backend: it does not implement user_ringbuf maps, and no program loaded uses it",
    ];
  },
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What a user sees of a collection, minus what names each backend's own objects (ids, fds, BTF ids). */
function summary(coll: Collection) {
  const programs: Record<string, unknown> = {};
  const mapKinds: Record<string, string> = { ...coll.mapKinds };
  for (const [name, p] of Object.entries(coll.programs)) programs[name] = { type: p.type, tag: p.info().tag };
  const maps: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(coll.maps)) {
    const { type, keySize, valueSize, maxEntries, flags, frozen } = m.info();
    maps[name] = { type, keySize, valueSize, maxEntries, flags, frozen };
  }
  const variables: Record<string, string> = {};
  for (const [name, v] of Object.entries(coll.variables)) {
    const value = v.get();
    variables[name] = value instanceof Uint8Array ? hex(value) : String(value);
  }
  return { programs, maps, variables, mapKinds, warnings: [...coll.warnings] };
}

/** The programs of `file` both backends can load (the mock's program types, less what its VM lacks). */
function loadable(label: string, file: string): string[] {
  const spec = readObject(new Uint8Array(fs.readFileSync(file)));
  return Object.entries(spec.programs)
    .filter(([name, p]) => MOCK_PROGRAM_TYPES.has(p.type) && !(LEFT_OUT[label] ?? []).includes(name))
    .map(([name]) => name);
}

/** What the kernel's port reads from the machine, given to the mock's. */
function machineOptions(): CollectionOptions {
  return {
    kernelBtf: VMLINUX,
    kconfig: { ...Object.fromEntries(kernelConfig()), LINUX_KERNEL_VERSION: String(linuxKernelVersion()) },
  };
}

function load(system: System, file: string, options: CollectionOptions) {
  const coll = system.loadCollection(file, options);
  try {
    return summary(coll);
  } finally {
    coll.close();
  }
}

whenKernel('program:xdp', 'program:socket_filter').describe(
  'one loader: each test object gives the same collection on the mock as on the kernel',
  () => {
    for (const [label, file] of Object.entries(OBJECTS)) {
      it(`${label}: the same programs (tags), maps, variables, kinds and warnings`, () => {
        using kernel = new NativeSystem();
        using mock = new MockSystem({ possibleCpus: possibleCpus() });
        const programs = loadable(label, file);
        const options: CollectionOptions = { ignorePinning: true, programs, constants: {} };
        const onKernel = load(kernel, file, options);
        const onMock = load(mock, file, { ...options, ...machineOptions() });
        expect(Object.keys(onKernel.programs).sort()).toEqual([...programs].sort());
        expect(Object.keys(onKernel.programs).length + Object.keys(onKernel.maps).length).toBeGreaterThan(0);
        PORT_DIFFERENCES[label]?.(onKernel);
        expect(onMock).toEqual(onKernel);
      });
    }

    it('elf/externs: the strong typeless ksym is refused on the mock, which has no kernel symbols, naming it', () => {
      const file = path.resolve(here, '../../../elf/testdata/externs.bpf.o');
      using mock = new MockSystem();
      expect(() => mock.loadCollection(file, machineOptions())).toThrow(NotSupportedError);
      expect(() => mock.loadCollection(file, machineOptions())).toThrow(
        "ksym '__x64_sys_bpf' is not supported by the mock backend: not in the mock's kernel symbols (it has none); declare it __weak to load without it",
      );
    });
  },
);

describe('one loader: what the mock port answers differently, on the mock alone', () => {
  const core = path.resolve(here, '../../../elf/testdata/core.bpf.o');
  it('a program with CO-RE relocations needs kernel types: refused without them, naming it and options.kernelBtf', () => {
    using mock = new MockSystem();
    const spec = readObject(new Uint8Array(fs.readFileSync(core)));
    const relocating = Object.entries(spec.programs).find(([, p]) => p.coreRelocations.length > 0)![0];
    expect(() => mock.loadCollection(core, { programs: [relocating] })).toThrow(
      new RegExp(`CO-RE relocations \\(program '${relocating}' has \\d+\\) is not supported by the mock backend: .*options\\.kernelBtf`),
    );
  });

  // Reading the kernel's BTF needs no privilege: the mock relocates against this machine's types anywhere.
  it.skipIf(!fs.existsSync(VMLINUX))(
    "relocates CO-RE against options.kernelBtf and runs the programs (core.bpf.o on this kernel's BTF)",
    () => {
      using mock = new MockSystem();
      const spec = readObject(new Uint8Array(fs.readFileSync(core)));
      // core_fields reads the current task (bpf_get_current_task, which the mock lacks): core_types alone.
      const xdp = ['core_types'];
      expect(spec.programs.core_types!.coreRelocations.length).toBeGreaterThan(0);
      using coll = mock.loadCollection(core, { programs: xdp, kernelBtf: VMLINUX });
      for (const name of xdp) {
        const r = coll.programs[name]!.testRun({ data: new Uint8Array(64) });
        expect(r.returnValue, name).toBe(2); // XDP_PASS
      }
    },
  );
});

describe('loadCollectionAsync', () => {
  const basics = path.resolve(here, '../../../elf/testdata/basics.bpf.o');
  for (const backend of ['mock', 'kernel'] as const) {
    const run = backend === 'kernel' ? whenKernel('program:xdp').it : it;
    run(`on the ${backend} backend: the same collection as loadCollection, and bad input rejects the promise`, async () => {
      using system = backend === 'kernel' ? new NativeSystem() : new MockSystem();
      const options = { ignorePinning: true, constants: { target_pid: 7 } };
      using async = await system.loadCollectionAsync(basics, options);
      const sync = load(system, basics, options);
      expect(summary(async)).toEqual(sync);
      await expect(system.loadCollectionAsync('/nonexistent.bpf.o')).rejects.toThrow(/readable BPF object file/);
    });
  }
});

describe("programErrors: 'skip'", () => {
  whenKernel('program:socket_filter').it(
    'on the kernel: a refused program is one failed load, its VerifierError kept, the rest loaded',
    () => {
      using kernel = new NativeSystem();
      const file = path.resolve(here, '../../testdata/rejected.bpf.o');
      expect(() => kernel.loadCollection(file)).toThrow(VerifierError);
      using coll = kernel.loadCollection(file, { programErrors: 'skip' });
      expect(Object.keys(coll.programs)).toEqual(['fine']);
      expect(coll.programErrors.unchecked_lookup).toBeInstanceOf(VerifierError);
      expect((coll.programErrors.unchecked_lookup as VerifierError).log).toMatch(/invalid mem access 'map_value_or_null'/);
      expect(coll.warnings.some((w) => w.startsWith("program 'unchecked_lookup' was not loaded:"))).toBe(true);
      expect(coll.programs.fine!.testRun({ data: new Uint8Array(64) }).returnValue).toBe(0);
    },
  );

  it('on the mock: programs its VM cannot run are left out, named, the rest loaded', () => {
    using mock = new MockSystem();
    const file = path.resolve(here, '../../testdata/callbacks.bpf.o');
    using coll = mock.loadCollection(file, { programErrors: 'skip' });
    expect(Object.keys(coll.programErrors).sort()).toEqual(['drain', 'find_vma', 'timer']);
    expect(coll.programErrors.timer!.message).toMatch(/bpf_timer_init/);
    expect(Object.keys(coll.programs).length).toBeGreaterThan(0);
    expect(Object.keys(coll.programs)).not.toContain('timer');
  });
});
