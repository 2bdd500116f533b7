#!/usr/bin/env node
// `node scripts/vm-kernel-diff.mjs [seed] [count]`: the mock's BPF virtual
// machine (packages/mock/src/vm) against the kernel, on seeded random
// programs (packages/mock/src/vm/random-programs.ts, which the test suite's
// differential test runs 300 of). The kernel runs each through
// BPF_PROG_TEST_RUN, the VM through VmProgram.run with the packet mapped;
// return values and output packets must be identical. Exits 1 on a
// difference (printing the first ones), 2 when bpf() is not usable.
//
// Needs root (or CAP_BPF + CAP_NET_ADMIN) and the built packages:
// `pnpm --filter @bpfkit/mock --filter @bpfkit/syscalls --filter @bpfkit/elf build`.
// SHOW=1 prints the disassembly of differing programs.
import { disassemble } from '../packages/elf/dist/index.js';
import { RANDOM_PROGRAM_PACKET as PACKET, randomProgram, runRandomProgram } from '../packages/mock/dist/vm/random-programs.js';
import { bpfAccess, native, progLoad, progTestRun } from '../packages/syscalls/dist/index.js';

const SEED = Number(process.argv[2] ?? 1);
const COUNT = Number(process.argv[3] ?? 500);
const XDP = 6;

const access = bpfAccess();
if (!access.available) {
  console.error(`vm-kernel-diff: bpf() is not usable: ${access.reason}`);
  process.exit(2);
}

let ran = 0;
let rejected = 0;
let differences = 0;
for (let n = 0; n < COUNT; n++) {
  // Seeds of one run follow each other; the test suite runs seeds 1-300.
  const bytes = randomProgram(SEED * 1_000_003 + n);
  let fd;
  try {
    fd = progLoad({ progType: XDP, insns: bytes, license: 'GPL', progName: 'vm_diff' }, new Uint8Array(1 << 20));
  } catch (err) {
    rejected++;
    if (rejected <= 3) console.log(`program ${n}: the kernel refused it: ${err.message.slice(0, 300)}`);
    continue;
  }
  const kernelOut = new Uint8Array(PACKET);
  let kernel;
  try {
    kernel = progTestRun({ progFd: fd, dataIn: new Uint8Array(PACKET), dataOut: kernelOut, repeat: 1 });
  } finally {
    native.close(fd);
  }
  const { returnValue: vm, packet: vmOut } = runRandomProgram(bytes, `vm_diff ${n}`);
  ran++;
  if (BigInt(kernel.retval) === vm && Buffer.compare(Buffer.from(kernelOut), Buffer.from(vmOut)) === 0) continue;
  differences++;
  if (differences <= 3) {
    console.log(`program ${n}: kernel returned ${kernel.retval}, the VM ${vm}`);
    const kv = new DataView(kernelOut.buffer);
    const vv = new DataView(vmOut.buffer);
    for (let k = 0; k < 24; k++) {
      const a = kv.getBigUint64(8 * k, true);
      const b = vv.getBigUint64(8 * k, true);
      if (a !== b)
        console.log(`  ${k < 10 ? `r${k}` : `stack r10${-208 + 8 * (k - 10)}`}: kernel 0x${a.toString(16)}, VM 0x${b.toString(16)}`);
    }
    if (process.env.SHOW) console.log(disassemble(bytes).join('\n'));
  }
}
console.log(`vm-kernel-diff: seed ${SEED}: ${ran} programs run on both, ${rejected} refused by the kernel, ${differences} different`);
process.exit(differences === 0 ? 0 : 1);
