import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import { readObject, resolveExterns } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { mockLoaderPort } from './mock-loader.js';
import { MockSystem } from './mock-system.js';

const externsObject = readObject(new Uint8Array(fs.readFileSync(path.resolve(import.meta.dirname, '../../elf/testdata/externs.bpf.o'))));
const kconfigNames = new Set(externsObject.externs.externs.filter((e) => e.kind === 'kconfig').map((e) => e.name));
const offsetOf = (name: string) => externsObject.externs.externs.find((e) => e.name === name)!.offset;

describe("the mock's loader port", () => {
  it('answers kconfig externs from options.kconfig alone, LINUX_KERNEL_VERSION included', () => {
    using system = new MockSystem();
    const port = mockLoaderPort(system, {
      kconfig: {
        CONFIG_BPF_SYSCALL: 'y',
        CONFIG_BPF_JIT: 'm',
        CONFIG_HZ: '250',
        CONFIG_LOCALVERSION: '"-mock"',
        LINUX_KERNEL_VERSION: '393728',
      },
    });
    const { kconfig } = resolveExterns(externsObject.btf!, true, externsObject.externs, port.externs, kconfigNames);
    const view = new DataView(kconfig.buffer, kconfig.byteOffset);
    expect(view.getInt32(offsetOf('CONFIG_HZ'), true)).toBe(250);
    expect(view.getUint32(offsetOf('LINUX_KERNEL_VERSION'), true)).toBe(393728);
    expect(kconfig[offsetOf('CONFIG_BPF_SYSCALL')]).toBe(1);
    expect(view.getUint32(offsetOf('CONFIG_BPF_JIT'), true)).toBe(2); // libbpf_tristate: TRI_MODULE
    expect(new TextDecoder().decode(kconfig.subarray(offsetOf('CONFIG_LOCALVERSION'), offsetOf('CONFIG_LOCALVERSION') + 5))).toBe('-mock');
  });

  it('never reads the machine: no config means a NotSupportedError naming options.kconfig, no kernel types without options.kernelBtf', () => {
    using system = new MockSystem();
    const port = mockLoaderPort(system, {});
    expect(() => resolveExterns(externsObject.btf!, true, externsObject.externs, port.externs, kconfigNames)).toThrow(
      "kconfig extern 'CONFIG_BPF_SYSCALL' is not supported by the mock backend: the mock backend has no kernel config: give the values with options.kconfig, or declare it __weak to load without it (it then reads 0)",
    );
    expect(port.kernelTypes()).toBeUndefined();
    expect(() => port.externs.kernelBtfs()).toThrow(NotSupportedError);
    expect(() => port.externs.kernelBtfs()).toThrow(/options\.kernelBtf/);
    expect(port.externs.kallsyms(['__x64_sys_bpf']).size).toBe(0);
    expect(port.possibleCpus).toBe(system.possibleCpus);
  });

  it('reads options.kernelBtf (bytes or a path) once, and refuses what is not BTF', () => {
    using system = new MockSystem();
    const btfBytes = externsObject.elf.data(externsObject.elf.section('.BTF')!);
    const port = mockLoaderPort(system, { kernelBtf: btfBytes });
    const types = port.kernelTypes()!;
    expect(types[0]!.name).toBe('vmlinux');
    expect(port.kernelTypes()).toBe(types);
    expect(() => mockLoaderPort(system, { kernelBtf: '/nonexistent/vmlinux' }).kernelTypes()).toThrow(InvalidArgumentError);
    expect(() => mockLoaderPort(system, { kernelBtf: 42 as unknown as string }).kernelTypes()).toThrow(InvalidArgumentError);
    expect(() => mockLoaderPort(system, { kconfig: { CONFIG_HZ: 250 as unknown as string } })).toThrow(
      /options\.kconfig: CONFIG_HZ: expected a config value/,
    );
  });
});
