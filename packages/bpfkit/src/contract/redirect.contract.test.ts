import { Helper, MapType, ProgramType, u32 } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { assembleWithMaps, ldMapFd } from '@bpfkit/mock/testing';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

// bpf_redirect and bpf_redirect_map in test runs: the return values the kernel gives (a test run performs no
// redirect), which the mock's hooks act on.

const frame = () => new Uint8Array(64).map((_, i) => i);

function run(system: System, type: number, asm: string): number {
  using prog = system.loadProgram({ name: 'redir', type, license: 'GPL', instructions: assembleWithMaps(asm) });
  return prog.testRun({ data: frame() }).returnValue;
}

const redirect = (ifindex: number, flags: number) => `mov %r1, ${ifindex}\nmov %r2, ${flags}\ncall ${Helper.redirect}\nexit`;

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `redirects on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('bpf_redirect: XDP_REDIRECT, or XDP_ABORTED with flags; TC_ACT_REDIRECT, BPF_F_INGRESS allowed, TC_ACT_SHOT with other flags', () => {
        using system = backend.open();
        expect(run(system, ProgramType.XDP, redirect(1, 0))).toBe(4);
        expect(run(system, ProgramType.XDP, redirect(1, 1))).toBe(0);
        expect(run(system, ProgramType.SCHED_CLS, redirect(1, 0))).toBe(7);
        expect(run(system, ProgramType.SCHED_CLS, redirect(1, 1))).toBe(7);
        expect(run(system, ProgramType.SCHED_CLS, redirect(1, 2))).toBe(2);
      });

      it('bpf_redirect_map through a DEVMAP: XDP_REDIRECT for an entry, the flags low bits for an empty slot', () => {
        using system = backend.open();
        using ports = system.createMap(
          { name: 'ports', type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
          { key: u32, value: u32 },
        );
        ports.update(0, 1); // lo
        const byKey = (key: number, flags: number) =>
          `${ldMapFd(1, ports.fd)}\nmov %r2, ${key}\nmov %r3, ${flags}\ncall ${Helper.redirect_map}\nexit`;
        expect(run(system, ProgramType.XDP, byKey(0, 0))).toBe(4);
        expect(run(system, ProgramType.XDP, byKey(1, 0))).toBe(0);
        expect(run(system, ProgramType.XDP, byKey(1, 2))).toBe(2);
        expect(run(system, ProgramType.XDP, byKey(9, 1))).toBe(1);
      });
    },
  );
}
