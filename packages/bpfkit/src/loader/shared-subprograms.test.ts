import fs from 'node:fs';
import path from 'node:path';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { loadCollection } from '../collection.js';

// packages/elf/testdata/shared_subprog.bpf.c: first() (xdp) calls twice(0), which bumps
// counts[0] and counts[1]; second() (socket filter) calls handle(2), which counts a call in .bss
// and calls twice(2) (counts[2], counts[3]) and bump(4) (past the array: nothing). Both programs
// link the same subprograms from .text, placed differently in each.
const file = path.resolve(import.meta.dirname, '../../../elf/testdata/shared_subprog.bpf.o');
const packet = new Uint8Array(64);
const u64 = (b: Uint8Array | undefined) => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : undefined);
const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);

whenKernel('program:xdp', 'program:socket_filter').it(
  'loads and runs programs that share subprograms from the bytes fs.readFileSync returns (a Node Buffer)',
  () => {
    // Not wrapped in a Uint8Array: as a user passes it (the Buffer's slice() is a view).
    const bytes = fs.readFileSync(file);
    const pristine = Uint8Array.from(bytes);
    using coll = loadCollection(bytes, { ignorePinning: true });
    expect(Object.keys(coll.programs).sort()).toEqual(['first', 'second']);
    expect(Buffer.compare(bytes, pristine)).toBe(0);
    coll.programs.first!.testRun({ data: packet });
    coll.programs.second!.testRun({ data: packet });
    const counts = [0, 1, 2, 3].map((i) => u64(coll.maps.counts!.lookup(key(i)) as Uint8Array));
    expect(counts).toEqual([1n, 1n, 1n, 1n]);
    expect(u64(coll.maps['.bss']!.lookup(key(0)) as Uint8Array)).toBe(1n);
  },
);
