import fs from 'node:fs';
import os from 'node:os';
import { FULL_BTF_SUPPORT, encodeBtf, objectBtfForKernel, externsFromObject, parseBtf, parseElf, sanitizeBtf } from '@bpfkit/elf';
import type { BtfSupport } from '@bpfkit/elf';
import { btfLoad, native } from '@bpfkit/syscalls';
import { kernelReleaseAtLeast } from '@bpfkit/core';
import { expect, it } from 'vitest';
import { kernelBtfSupport } from './btf-support.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

const testdata = new URL('../../../elf/testdata/', import.meta.url);

whenKernel().describe('BTF the kernel accepts', () => {
  it('probes each BTF feature by what the kernel loads', () => {
    const support = kernelBtfSupport();
    expect(kernelBtfSupport()).toBe(support);
    const atLeast = (major: number, minor: number) => kernelReleaseAtLeast(os.release(), major, minor);
    expect(support).toEqual({
      func: atLeast(5, 0),
      funcGlobal: atLeast(5, 6),
      datasec: atLeast(5, 2),
      float: atLeast(5, 13),
      declTag: atLeast(5, 16),
      typeTag: atLeast(5, 17),
      enum64: atLeast(6, 0),
    });
  });

  const load = (file: string, support: BtfSupport) => {
    const elf = parseElf(new Uint8Array(fs.readFileSync(new URL(file, testdata))));
    const btf = parseBtf(elf.data(elf.section('.BTF')!));
    const types = sanitizeBtf(objectBtfForKernel(elf, btf, externsFromObject(elf, btf)), support);
    native.close(btfLoad(encodeBtf(types, true, { strings: btf.strings }), { log: new Uint8Array(1 << 16) }, { subject: file }));
  };

  for (const file of ['basics.bpf.o', 'externs.bpf.o', 'core.bpf.o', 'tailcalls.bpf.o']) {
    it(`loads the object BTF of ${file} as is, and sanitised for each older kernel`, () => {
      load(file, FULL_BTF_SUPPORT);
      // What a 4.20-era kernel would be given must still be well-formed BTF for this one.
      for (const key of Object.keys(FULL_BTF_SUPPORT) as (keyof BtfSupport)[]) load(file, { ...FULL_BTF_SUPPORT, [key]: false });
      load(file, { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false });
    });
  }
});
