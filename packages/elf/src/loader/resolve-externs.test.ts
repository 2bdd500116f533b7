import fs from 'node:fs';
import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import { BtfBuilder } from '../btf/build.js';
import { externsFromObject } from '../externs/externs.js';
import { parseBtf } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import type { Btf } from '../btf/parse.js';
import type { ObjectExterns } from '../externs/externs.js';
import { describe, expect, it } from 'vitest';
import { resolveExterns } from './resolve-externs.js';
import type { ExternEnvironment } from './resolve-externs.js';

const file = new URL('../../testdata/externs.bpf.o', import.meta.url);
const elf = parseElf(new Uint8Array(fs.readFileSync(file)));
const btf = parseBtf(elf.data(elf.section('.BTF')!));
const object = externsFromObject(elf, btf);

/** A kernel with the functions and variables the test object asks for, in BTF of its own making. */
function fakeKernel(options: { kfuncParams?: number; withPerCpuVar?: boolean } = {}): Btf {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  const params: [string, number][] = Array.from({ length: options.kfuncParams ?? 0 }, (_, i) => [`a${i}`, int]);
  const proto = b.addFuncProto(0, params);
  b.addFunc('bpf_rcu_read_lock', proto, 0);
  b.addFunc('bpf_rcu_read_unlock', proto, 0);
  if (options.withPerCpuVar !== false) b.addVar('bpf_prog_active', int, 1);
  return parseBtf(b.encode());
}

function env(overrides: Partial<ExternEnvironment> = {}, kernel = fakeKernel()): ExternEnvironment {
  return {
    config: new Map([
      ['CONFIG_BPF_SYSCALL', 'y'],
      ['CONFIG_BPF_JIT', 'm'],
      ['CONFIG_HZ', '1000'],
      ['CONFIG_LOCALVERSION', '"-test"'],
    ]),
    configSource: '/proc/config.gz',
    kernelVersion: (6 << 16) | (1 << 8) | 99,
    kernelBtfs: () => [{ name: 'vmlinux', btf: kernel }],
    kallsyms: (names) =>
      new Map([...names].filter((n) => n === '__x64_sys_bpf' || n === 'bpf_prog_active').map((n) => [n, 0xffffffff81000000n])),
    ...overrides,
  };
}

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const offsetOf = (name: string) => object.externs.find((e) => e.name === name)!.offset;

describe('resolveExterns', () => {
  it('fills the .kconfig map from the config and kernel version, and finds ksyms and kfuncs', () => {
    const r = resolveExterns(btf, true, object, env());
    expect(r.kconfig.byteLength).toBe(object.kconfigSize);
    expect(u32(r.kconfig, offsetOf('LINUX_KERNEL_VERSION'))).toBe((6 << 16) | (1 << 8) | 99);
    expect(r.kconfig[offsetOf('CONFIG_BPF_SYSCALL')]).toBe(1);
    expect(u32(r.kconfig, offsetOf('CONFIG_BPF_JIT'))).toBe(2);
    expect(u32(r.kconfig, offsetOf('CONFIG_HZ'))).toBe(1000);
    expect(new TextDecoder().decode(r.kconfig.subarray(offsetOf('CONFIG_LOCALVERSION'), offsetOf('CONFIG_LOCALVERSION') + 5))).toBe(
      '-test',
    );
    expect(r.kconfig[offsetOf('CONFIG_BPFKIT_NO_SUCH_OPTION')]).toBe(0);
    expect(r.values.get('CONFIG_HZ')).toEqual({ kind: 'kconfig', offset: offsetOf('CONFIG_HZ') });
    expect(r.values.get('__x64_sys_bpf')).toEqual({ kind: 'address', address: 0xffffffff81000000n });
    expect(r.values.get('bpf_prog_active')).toMatchObject({ kind: 'btf', module: 'vmlinux' });
    expect(r.values.get('bpf_rcu_read_lock')).toMatchObject({ kind: 'btf', module: 'vmlinux' });
    expect(r.values.get('bpfkit_no_such_kfunc')).toEqual({ kind: 'missing' });
  });

  it('refuses a strong kconfig value the config lacks, and accepts it weak', () => {
    const strong: ObjectExterns = {
      ...object,
      externs: object.externs.map((e) => (e.name === 'CONFIG_BPFKIT_NO_SUCH_OPTION' ? { ...e, weak: false } : e)),
    };
    expect(() => resolveExterns(btf, true, strong, env())).toThrow(NotSupportedError);
    expect(() => resolveExterns(btf, true, strong, env())).toThrow(
      /kconfig extern 'CONFIG_BPFKIT_NO_SUCH_OPTION'.*the kernel config \(\/proc\/config\.gz\) does not set it.*__weak/,
    );
  });

  it('says when a kernel has no config at all', () => {
    expect(() => resolveExterns(btf, true, object, env({ config: new Map(), configSource: undefined }))).toThrow(
      /kconfig extern 'CONFIG_BPF_SYSCALL'.*no kernel config was found.*options\.kconfig/,
    );
  });

  it("checks a kfunc declaration against the kernel's prototype", () => {
    expect(() => resolveExterns(btf, true, object, env({}, fakeKernel({ kfuncParams: 2 })))).toThrow(InvalidArgumentError);
    expect(() => resolveExterns(btf, true, object, env({}, fakeKernel({ kfuncParams: 2 })))).toThrow(
      /kfunc 'bpf_rcu_read_lock'.*2 parameter/,
    );
  });

  it('treats a weak typed ksym the kernel cannot resolve as missing, and refuses it strong', () => {
    const noKallsyms = env({ kallsyms: (names) => new Map([...names].filter((n) => n === '__x64_sys_bpf').map((n) => [n, 1n])) });
    expect(resolveExterns(btf, true, object, noKallsyms).values.get('bpf_prog_active')).toEqual({ kind: 'missing' });
    const strong: ObjectExterns = {
      ...object,
      externs: object.externs.map((e) => (e.name === 'bpf_prog_active' ? { ...e, weak: false } : e)),
    };
    expect(() => resolveExterns(btf, true, strong, noKallsyms)).toThrow(/CONFIG_KALLSYMS_ALL/);
    expect(() => resolveExterns(btf, true, strong, env({}, fakeKernel({ withPerCpuVar: false })))).toThrow(
      /ksym 'bpf_prog_active'.*no variable of that name/,
    );
  });

  it('refuses a strong typeless ksym missing from kallsyms', () => {
    const strong: ObjectExterns = {
      ...object,
      externs: object.externs.map((e) => (e.name === '__x64_sys_bpf' ? { ...e, weak: false } : e)),
    };
    expect(() => resolveExterns(btf, true, strong, env({ kallsyms: () => new Map() }))).toThrow(/ksym '__x64_sys_bpf'.*kallsyms/);
  });

  it('answers LINUX_HAS_SYSCALL_WRAPPER from the same single kallsyms read as the ksyms', () => {
    const bool = object.externs.find((e) => e.name === 'CONFIG_BPF_SYSCALL')!;
    const withWrapper: ObjectExterns = {
      // __x64_sys_bpf made weak, so a kernel without wrappers loads too.
      externs: [
        ...object.externs.map((e) => (e.name === '__x64_sys_bpf' ? { ...e, weak: true } : e)),
        { ...bool, name: 'LINUX_HAS_SYSCALL_WRAPPER', offset: object.kconfigSize },
      ],
      kconfigSize: object.kconfigSize + 8,
    };
    for (const [symbols, expected] of [
      [['__arm64_sys_bpf'], 1],
      [[], 0],
    ] as const) {
      const reads: string[][] = [];
      const r = resolveExterns(
        btf,
        true,
        withWrapper,
        env({
          kallsyms: (names) => {
            reads.push([...names]);
            return new Map(
              [...names].filter((n) => (symbols as readonly string[]).includes(n) || n === 'bpf_prog_active').map((n) => [n, 1n]),
            );
          },
        }),
      );
      expect(reads.length).toBe(1);
      expect(r.kconfig[object.kconfigSize]).toBe(expected);
    }
  });
});
