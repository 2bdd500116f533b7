import { progLoad, progTestRun, closeFd } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { RANDOM_PROGRAM_PACKET, randomProgram, runRandomProgram } from '@bpfkit/mock/testing';
import { expect } from 'vitest';

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
