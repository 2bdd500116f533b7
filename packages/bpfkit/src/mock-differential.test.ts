import { MapType, ProgramType } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { closeFd, possibleCpus, progLoad, progTestRun } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { RANDOM_PROGRAM_PACKET, randomMapProgram, randomProgram, runRandomProgram } from '@bpfkit/mock/testing';
import { expect } from 'vitest';
import { NativeSystem } from './native-system.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const XDP = 6;
const PROGRAMS = 300;

// The mock's virtual machine against the kernel: seeded random programs (every ALU and jump opcode,
// stack loads, stores and atomics, bpf-to-bpf calls) must return the same value and leave the same
// packet on both. `node scripts/vm-kernel-diff.mjs <seed> <count>` runs more of them.
whenKernel('program:xdp').it(`${PROGRAMS} random programs give the same result and packet on the mock's VM as on the kernel`, () => {
  let ran = 0;
  const differences: string[] = [];
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const instructions = randomProgram(seed);
    let fd: number;
    try {
      fd = progLoad({ progType: XDP, insns: instructions, license: 'GPL', progName: 'vm_diff' }, new Uint8Array(1 << 20));
    } catch {
      continue; // the verifier refused it (a path it cannot prove): nothing to compare
    }
    const kernelPacket = new Uint8Array(RANDOM_PROGRAM_PACKET);
    let kernel: { retval: number };
    try {
      kernel = progTestRun({ progFd: fd, dataIn: new Uint8Array(RANDOM_PROGRAM_PACKET), dataOut: kernelPacket, repeat: 1 });
    } finally {
      closeFd(fd);
    }
    const vm = runRandomProgram(instructions, `seed ${seed}`);
    ran++;
    if (BigInt(kernel.retval) !== vm.returnValue || !Buffer.from(kernelPacket).equals(Buffer.from(vm.packet))) {
      differences.push(`seed ${seed}: kernel returned ${kernel.retval}, the VM ${vm.returnValue}`);
    }
  }
  expect(differences).toEqual([]);
  expect(ran).toBeGreaterThan(PROGRAMS * 0.9);
});

// Seeded random programs with helper calls: map updates, lookups (writing through the value pointer),
// deletes on a hash and an array, bounded loops, ring buffer outputs, each run three times on fresh
// maps of both backends: the same return values and packets, the same map contents afterwards, the
// same ring buffer records in the same order.
const MAP_PROGRAMS = 60;
whenKernel('program:xdp', 'map:ringbuf').it(
  `${MAP_PROGRAMS} random programs with map and ring buffer helpers leave the same state on the mock as on the kernel`,
  () => {
    using kernel = new NativeSystem();
    using mock = new MockSystem({ possibleCpus: possibleCpus() });
    const run = (system: System, seed: number) => {
      using hash = system.createMap({ name: 'hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
      using array = system.createMap({ name: 'array', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 8 });
      using ringbuf = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 12 });
      using reader = system.openRingBuffer(ringbuf);
      const instructions = randomMapProgram(seed, { hash: hash.fd, array: array.fd, ringbuf: ringbuf.fd });
      using prog = system.loadProgram({ name: 'map_diff', type: ProgramType.XDP, license: 'GPL', instructions });
      const results = [0, 1, 2].map(() => {
        const r = prog.testRun({ data: new Uint8Array(64) });
        return `${r.returnValue} ${hex(r.data.subarray(0, 8))}`;
      });
      const records: string[] = [];
      reader.consume((record) => {
        records.push(hex(record));
      });
      const dump = (m: typeof hash) =>
        [...(m as unknown as Iterable<[Uint8Array, Uint8Array]>)].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
      return { results, hash: dump(hash), array: dump(array), records };
    };
    const differences: string[] = [];
    let helpers = 0;
    for (let seed = 1; seed <= MAP_PROGRAMS; seed++) {
      const onKernel = run(kernel, seed);
      const onMock = run(mock, seed);
      helpers += onKernel.records.length + onKernel.hash.length;
      if (JSON.stringify(onKernel) !== JSON.stringify(onMock)) {
        differences.push(`seed ${seed}:\n  kernel ${JSON.stringify(onKernel)}\n  mock   ${JSON.stringify(onMock)}`);
      }
    }
    expect(differences).toEqual([]);
    expect(helpers).toBeGreaterThan(MAP_PROGRAMS);
  },
);
