import { helperName, programTypeName } from '@bpfkit/core';
import {
  defaultEnvironment,
  KERNEL_GPL_ONLY_HELPERS,
  KERNEL_HELPER_SETS_RELEASE,
  MOCK_PROGRAM_TYPES,
  MockRuntime,
  mockHelperAllowed,
  mockHelpers,
} from '@bpfkit/mock';
import { linuxKernelVersion, nativeProbeSys, probeHelper, probeHelperGplOnly } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';

// The mock lets a program call a helper exactly when the kernel's verifier does: for every helper the
// mock implements and every program type it runs, its table (scripts/mock-helper-sets.mjs) against
// the running kernel's answer to the same probe.
whenKernel('program:xdp', 'program:kprobe').it(
  "the mock's per-type helper sets are the running kernel's, for every helper it implements",
  () => {
    const sys = nativeProbeSys();
    const version = linuxKernelVersion();
    const implemented = [...mockHelpers(new MockRuntime(defaultEnvironment())).keys()];
    const differences: string[] = [];
    for (const type of MOCK_PROGRAM_TYPES) {
      for (const id of implemented) {
        const kernel = probeHelper(sys, type, id, version);
        if (kernel !== mockHelperAllowed(type, id)) {
          differences.push(`${programTypeName(type)} ${helperName(id)}: the kernel ${kernel ? 'allows' : 'refuses'} it`);
        }
      }
    }
    // And GPL-only the same: a call from a program whose license is not GPL-compatible is refused by both.
    for (const id of implemented) {
      const type = [...MOCK_PROGRAM_TYPES].find((t) => mockHelperAllowed(t, id));
      if (type === undefined) continue;
      const kernelGplOnly = probeHelperGplOnly(sys, type, id, version);
      if (kernelGplOnly !== KERNEL_GPL_ONLY_HELPERS.includes(id)) {
        differences.push(`${helperName(id)}: the kernel ${kernelGplOnly ? 'gives it to GPL programs only' : 'gives it to any license'}`);
      }
    }
    expect(implemented.length).toBeGreaterThan(40);
    expect(differences, `the table was probed on ${KERNEL_HELPER_SETS_RELEASE}: node scripts/mock-helper-sets.mjs`).toEqual([]);
  },
);
