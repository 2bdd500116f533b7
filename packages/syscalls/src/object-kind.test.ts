import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { native } from './native.js';
import { bpfObjectKind } from './object-kind.js';
import { mapCreate } from './sys/map.js';
import { progLoad, rawTracepointOpen } from './sys/prog.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

/** `r0 = 0; exit`. */
const R0_0_EXIT = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

describe('bpfObjectKind', () => {
  it('calls any other file a non-BPF file, and a closed fd unknown', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-kind-'));
    try {
      const fd = fs.openSync(path.join(dir, 'plain'), 'w');
      expect(bpfObjectKind(fd)).toBe('non-BPF file');
      fs.closeSync(fd);
      expect(bpfObjectKind(fd)).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

whenKernel().describe('bpfObjectKind of kernel objects', () => {
  it('tells maps, programs and links apart (the kernel names links bpf_link, the others bpf-map and bpf-prog)', () => {
    const map = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const prog = progLoad({ progType: ProgramType.RAW_TRACEPOINT, insns: R0_0_EXIT, license: 'GPL' });
    let link = -1;
    try {
      expect(bpfObjectKind(map)).toBe('map');
      expect(bpfObjectKind(prog)).toBe('prog');
      link = rawTracepointOpen(prog, 'sys_enter');
      expect(bpfObjectKind(link)).toBe('link');
    } finally {
      if (link >= 0) native.close(link);
      native.close(prog);
      native.close(map);
    }
  });
});
