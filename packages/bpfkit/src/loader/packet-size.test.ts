import path from 'node:path';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { loadCollection } from '../collection.js';

// testdata/packets.bpf.c: programs that grow and shrink the packet, test-run on the kernel.
const file = path.resolve(import.meta.dirname, '../../testdata/packets.bpf.o');
/** An Ethernet + IPv4 frame of 64 bytes (TC test runs parse the Ethernet header). */
function frame(): Uint8Array {
  const f = new Uint8Array(64).fill(0x11);
  f.set([0x08, 0x00], 12); // EtherType IPv4
  f[14] = 0x45;
  return f;
}

whenKernel('program:xdp', 'program:sched_cls').describe('test runs of programs that change the packet size', () => {
  it('reports the grown or shrunk packet exactly: XDP tail and head, TC tail', () => {
    using coll = loadCollection(file);
    const p = coll.programs;
    const input = frame();

    const grown = p.xdp_grow!.testRun({ data: input });
    expect(grown.returnValue).toBe(2); // XDP_PASS
    expect(grown.dataSizeOut).toBe(80);
    expect(grown.data.byteLength).toBe(80);
    expect(grown.data[0]).toBe(0xaa);
    expect(Buffer.from(grown.data.subarray(1, 64)).equals(Buffer.from(input.subarray(1)))).toBe(true);

    const shrunk = p.xdp_shrink!.testRun({ data: input });
    expect(shrunk.dataSizeOut).toBe(48);
    expect(Buffer.from(shrunk.data).equals(Buffer.from(input.subarray(0, 48)))).toBe(true);

    const pushed = p.xdp_push_head!.testRun({ data: input });
    expect(pushed.dataSizeOut).toBe(72);
    expect([...pushed.data.subarray(0, 8)]).toEqual(new Array(8).fill(0xbb));
    expect(Buffer.from(pushed.data.subarray(8)).equals(Buffer.from(input))).toBe(true);

    const tcGrown = p.tc_grow!.testRun({ data: input });
    expect(tcGrown.returnValue).toBe(0);
    expect(tcGrown.dataSizeOut).toBe(74);
    expect(Buffer.from(tcGrown.data.subarray(0, 64)).equals(Buffer.from(input))).toBe(true);

    const tcShrunk = p.tc_shrink!.testRun({ data: input });
    expect(tcShrunk.returnValue).toBe(0);
    expect(tcShrunk.dataSizeOut).toBe(54);
    expect(Buffer.from(tcShrunk.data).equals(Buffer.from(input.subarray(0, 54)))).toBe(true);
  });
});
