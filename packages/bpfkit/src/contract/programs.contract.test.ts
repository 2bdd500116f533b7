import path from 'node:path';
import { Helper, MapType, ProgramFlags, ProgramType, u32, u64 } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';
import { assembleWithMaps, ldMapFd } from '@bpfkit/mock/testing';

// The same hand-assembled programs test-run on the kernel and on the mock's VM: same return values, packets out,
// contexts out and map contents. Every program here passes the kernel's verifier.

const testdata = path.resolve(import.meta.dirname, '../../testdata');
const elfTestdata = path.resolve(import.meta.dirname, '../../../elf/testdata');
const u64At = (b: unknown) => new DataView((b as Uint8Array).buffer, (b as Uint8Array).byteOffset).getBigUint64(0, true);
const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);

function load(system: System, name: string, type: number, asm: string, flags?: number) {
  return system.loadProgram({ name, type, license: 'GPL', instructions: assembleWithMaps(asm), ...(flags !== undefined ? { flags } : {}) });
}

const ip = (size: number) => {
  const p = new Uint8Array(size).map((_, i) => i);
  p[12] = 0x08;
  p[13] = 0x00;
  return p;
};

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `test runs of programs on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('an XDP program counts in an array map through the pointer map_lookup_elem returns, and repeats', () => {
        using system = backend.open();
        using counts = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 });
        using prog = load(
          system,
          'count',
          ProgramType.XDP,
          `stw [%r10-4], 0
          ${ldMapFd(1, counts.fd)}
          mov %r2, %r10
          add %r2, -4
          call ${Helper.map_lookup_elem}
          jeq %r0, 0, +3
          ldxdw %r1, [%r0+0]
          add %r1, 1
          stxdw [%r0+0], %r1
          mov %r0, 2
          exit`,
        );
        const r = prog.testRun({ data: ip(64), repeat: 5 });
        expect(r.returnValue).toBe(2);
        expect(r.dataSizeOut).toBe(64);
        expect(Buffer.from(r.data).equals(Buffer.from(ip(64)))).toBe(true);
        expect(counts.lookup(0)).toBe(5n);
      });

      it('xdp_adjust_head stops at the xdp_frame below the 256-byte headroom; adjust_tail keeps an Ethernet header; the context out', () => {
        using system = backend.open();
        const head = (delta: number) => load(system, 'head', ProgramType.XDP, `mov %r2, ${delta}\ncall ${Helper.xdp_adjust_head}\nexit`);
        const tail = (delta: number) => load(system, 'tail', ProgramType.XDP, `mov %r2, ${delta}\ncall ${Helper.xdp_adjust_tail}\nexit`);
        const results: Record<string, number> = {};
        for (const d of [-216, -217, 50, 51]) {
          using p = head(d);
          const r = p.testRun({ data: ip(64) });
          results[`head ${d}`] = r.returnValue | 0;
          if (r.returnValue === 0) results[`head ${d} size`] = r.dataSizeOut;
        }
        for (const d of [-50, -51, 100]) {
          using p = tail(d);
          const r = p.testRun({ data: ip(64) });
          results[`tail ${d}`] = r.returnValue | 0;
          if (r.returnValue === 0) results[`tail ${d} size`] = r.dataSizeOut;
        }
        expect(results).toEqual({
          'head -216': 0,
          'head -216 size': 280,
          'head -217': -22,
          'head 50': 0,
          'head 50 size': 14,
          'head 51': -22,
          'tail -50': 0,
          'tail -50 size': 14,
          'tail -51': -22,
          'tail 100': 0,
          'tail 100 size': 164,
        });
        using grow = tail(16);
        const ctx = new Uint8Array(24);
        new DataView(ctx.buffer).setUint32(4, 64, true);
        const r = grow.testRun({ data: ip(64), context: ctx });
        const out = new DataView(r.context!.buffer, r.context!.byteOffset, r.context!.byteLength);
        expect([r.context!.byteLength, out.getUint32(0, true), out.getUint32(4, true), out.getUint32(8, true)]).toEqual([24, 0, 80, 0]);
        expect([...r.data.subarray(64)]).toEqual(new Array(16).fill(0));
      });

      it('xdp_md fields: ingress_ifindex is the loopback, rx_queue_index 0', () => {
        using system = backend.open();
        const field = (offset: number) => {
          using p = load(system, 'xfield', ProgramType.XDP, `ldxw %r0, [%r1+${offset}]\nexit`);
          return p.testRun({ data: ip(64) }).returnValue;
        };
        expect([field(12), field(16)]).toEqual([1, 0]);
      });

      it('a socket filter sees the packet from the network header, a TC program from the link layer', () => {
        using system = backend.open();
        // r0 = len | protocol << 16
        const asm = 'ldxw %r0, [%r1+0]\nldxw %r2, [%r1+16]\nlsh %r2, 16\nor %r0, %r2\nexit';
        using sf = load(system, 'sf', ProgramType.SOCKET_FILTER, asm);
        using tc = load(system, 'tc', ProgramType.SCHED_CLS, asm);
        const s = sf.testRun({ data: ip(64) });
        expect(s.returnValue).toBe((0x0008 << 16) | 50);
        expect(s.dataSizeOut).toBe(64);
        expect([...s.data.subarray(0, 14)]).toEqual(new Array(14).fill(0));
        expect(Buffer.from(s.data.subarray(14)).equals(Buffer.from(ip(64).subarray(14)))).toBe(true);
        const t = tc.testRun({ data: ip(64) });
        expect(t.returnValue).toBe((0x0008 << 16) | 64);
        expect(Buffer.from(t.data).equals(Buffer.from(ip(64)))).toBe(true);
      });

      it('a TC program writes mark, priority and cb of __sk_buff; the context out has them', () => {
        using system = backend.open();
        using tc = load(
          system,
          'marks',
          ProgramType.SCHED_CLS,
          'stw [%r1+8], 0x1234\nstw [%r1+32], 6\nstw [%r1+48], 5\nstw [%r1+64], 9\nmov %r0, 0\nexit',
        );
        const r = tc.testRun({ data: ip(64), context: new Uint8Array(192) });
        const out = new DataView(r.context!.buffer, r.context!.byteOffset, r.context!.byteLength);
        const u32s = Array.from({ length: 48 }, (_, i) => out.getUint32(i * 4, true));
        const nonzero = Object.fromEntries(u32s.flatMap((v, i) => (v ? [[i * 4, v]] : [])));
        expect([r.context!.byteLength, nonzero]).toEqual([192, { 8: 0x1234, 32: 6, 40: 1, 48: 5, 64: 9, 160: 64 }]);
        // A socket filter's skb starts past the link-layer header: its wire_len is 50.
        using sf = load(system, 'wire', ProgramType.SOCKET_FILTER, 'mov %r0, 0\nexit');
        const w = sf.testRun({ data: ip(64), context: new Uint8Array(192) }).context!;
        expect(new DataView(w.buffer, w.byteOffset).getUint32(160, true)).toBe(50);
      });

      it('__sk_buff fields a program reads: len, pkt_type (other host, broadcast, multicast, host), protocol, ifindex', () => {
        using system = backend.open();
        const field = (type: number, offset: number, data: Uint8Array) => {
          using p = load(system, 'field', type, `ldxw %r0, [%r1+${offset}]\nexit`);
          return p.testRun({ data }).returnValue;
        };
        const broadcast = ip(64).fill(0xff, 0, 6);
        const multicast = ip(64);
        multicast[0] = 0x01;
        const host = ip(64).fill(0, 0, 6);
        expect(
          [ProgramType.SCHED_CLS, ProgramType.SOCKET_FILTER].map((t) => [
            field(t, 0, ip(64)),
            [ip(64), broadcast, multicast, host].map((d) => field(t, 4, d)),
            field(t, 16, ip(64)),
            field(t, 40, ip(64)),
          ]),
        ).toEqual([
          // The loopback's broadcast address is all zeros: ff:ff:ff:ff:ff:ff is multicast there.
          [64, [3, 2, 2, 0], 8, 1],
          [50, [3, 2, 2, 0], 8, 1],
        ]);
      });

      it('a TC program reads packet pointers from __sk_buff and writes the packet', () => {
        using system = backend.open();
        using tc = load(
          system,
          'tcw',
          ProgramType.SCHED_CLS,
          `ldxw %r2, [%r1+76]
          ldxw %r3, [%r1+80]
          mov %r4, %r2
          add %r4, 1
          jgt %r4, %r3, +1
          stb [%r2+0], 0xab
          mov %r0, 0
          exit`,
        );
        const r = tc.testRun({ data: ip(64) });
        expect(r.data[0]).toBe(0xab);
        expect(Buffer.from(r.data.subarray(1)).equals(Buffer.from(ip(64).subarray(1)))).toBe(true);
      });

      it("objects' programs: packets.bpf.o grows and shrinks, callbacks.bpf.o loops, tailcalls.bpf.o dispatches", () => {
        using system = backend.open();
        using packets = system.loadCollection(path.join(testdata, 'packets.bpf.o'));
        const sizes = Object.fromEntries(
          ['xdp_grow', 'xdp_shrink', 'xdp_push_head', 'tc_grow', 'tc_shrink'].map((n) => {
            const r = packets.programs[n]!.testRun({ data: ip(64) });
            return [n, [r.returnValue, r.dataSizeOut]];
          }),
        );
        expect(sizes).toEqual({ xdp_grow: [2, 80], xdp_shrink: [2, 48], xdp_push_head: [2, 72], tc_grow: [0, 74], tc_shrink: [0, 54] });
        // Repeated runs share one packet: each run pushes the head again.
        expect(packets.programs.xdp_push_head!.testRun({ data: ip(64), repeat: 3 }).dataSizeOut).toBe(88);

        using callbacks = system.loadCollection(path.join(testdata, 'callbacks.bpf.o'), { programs: ['loops', 'for_each', 'plain'] });
        for (let i = 0; i < 4; i++) callbacks.maps.values!.update(key(i), new Uint8Array(new BigUint64Array([BigInt(i + 1)]).buffer));
        for (const n of ['loops', 'for_each', 'plain']) callbacks.programs[n]!.testRun({ data: ip(64) });
        expect([0, 1, 6].map((slot) => u64At(callbacks.maps.results!.lookup(key(slot))))).toEqual([45n, 10n, 1n]);

        const verdicts = [0, 1, 2].map((slot) => {
          using tail = system.loadCollection(path.join(elfTestdata, 'tailcalls.bpf.o'), { constants: { slot } });
          const verdict = tail.programs.dispatch!.testRun({ data: ip(64) }).returnValue;
          return [verdict, u64At(tail.maps.answers!.lookup(key(0)))];
        });
        expect(verdicts).toEqual([
          [2, 1n],
          [0, 1n],
          [1, 1n],
        ]);
      });

      it("map helpers answer the kernel's errors: EEXIST, EINVAL, E2BIG, ENOENT", () => {
        using system = backend.open();
        using array = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
        using hash = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
        using queue = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 8, maxEntries: 1 });
        const run = (asm: string) => {
          using p = load(system, 'op', ProgramType.RAW_TRACEPOINT, asm);
          return p.testRun().returnValue | 0;
        };
        const update = (fd: number, k: number, flags: number) =>
          run(
            `stw [%r10-4], ${k}\nstdw [%r10-16], 7\n${ldMapFd(1, fd)}\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, ${flags}\ncall ${Helper.map_update_elem}\nexit`,
          );
        const remove = (fd: number, k: number) =>
          run(`stw [%r10-4], ${k}\n${ldMapFd(1, fd)}\nmov %r2, %r10\nadd %r2, -4\ncall ${Helper.map_delete_elem}\nexit`);
        const lookup = (fd: number, k: number) =>
          run(
            `stw [%r10-4], ${k}\n${ldMapFd(1, fd)}\nmov %r2, %r10\nadd %r2, -4\ncall ${Helper.map_lookup_elem}\njeq %r0, 0, +1\nmov %r0, 1\nexit`,
          );
        const push = (flags: number) =>
          run(
            `stdw [%r10-16], 7\n${ldMapFd(1, queue.fd)}\nmov %r2, %r10\nadd %r2, -16\nmov %r3, ${flags}\ncall ${Helper.map_push_elem}\nexit`,
          );
        using bloom = system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 16, mapExtra: 3n });
        const bloomOp = (helper: number, v: number) =>
          run(`stdw [%r10-16], ${v}\n${ldMapFd(1, bloom.fd)}\nmov %r2, %r10\nadd %r2, -16\nmov %r3, 0\ncall ${helper}\nexit`);
        expect([bloomOp(Helper.map_peek_elem, 5), bloomOp(Helper.map_push_elem, 5), bloomOp(Helper.map_peek_elem, 5)]).toEqual([-2, 0, 0]);
        // An LPM trie's value in place: the program's write lands in the map.
        using trie = system.createMap({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 4, flags: 1 });
        trie.update(Uint8Array.of(16, 0, 0, 0, 10, 1, 0, 0), new Uint8Array(8));
        expect(
          run(
            `stw [%r10-8], 32\nstw [%r10-4], 0x0403010a\n${ldMapFd(1, trie.fd)}\nmov %r2, %r10\nadd %r2, -8\ncall ${Helper.map_lookup_elem}\njeq %r0, 0, +2\nstdw [%r0+0], 77\nmov %r0, 1\nexit`,
          ),
        ).toBe(1);
        expect(u64At(trie.lookup(Uint8Array.of(16, 0, 0, 0, 10, 1, 0, 0)))).toBe(77n);
        const pop = () => run(`${ldMapFd(1, queue.fd)}\nmov %r2, %r10\nadd %r2, -16\ncall ${Helper.map_pop_elem}\nexit`);
        expect({
          arrayNoexist: update(array.fd, 0, 1),
          arrayPastEnd: update(array.fd, 5, 0),
          arrayDelete: remove(array.fd, 0),
          arrayLookupPastEnd: lookup(array.fd, 2),
          hashInsert: update(hash.fd, 1, 0),
          hashFull: update(hash.fd, 2, 0),
          hashNoexist: update(hash.fd, 1, 1),
          hashExistAbsent: update(hash.fd, 3, 2),
          hashDeleteAbsent: remove(hash.fd, 3),
          hashLookup: lookup(hash.fd, 1),
          popEmpty: pop(),
          push: push(0),
          pushFull: push(0),
          pushOverwrite: push(2),
        }).toEqual({
          arrayNoexist: -17,
          arrayPastEnd: -7,
          arrayDelete: -22,
          arrayLookupPastEnd: 0,
          hashInsert: 0,
          hashFull: -7,
          hashNoexist: -17,
          hashExistAbsent: -2,
          hashDeleteAbsent: -2,
          hashLookup: 1,
          popEmpty: -2,
          push: 0,
          pushFull: -7,
          pushOverwrite: 0,
        });
      });

      it('a program whose license is not GPL-compatible may not call a GPL-only helper', () => {
        using system = backend.open();
        const printk = assemble(`stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall ${Helper.trace_printk}\nmov %r0, 0\nexit`);
        expect(() =>
          system.loadProgram({ name: 'prop', type: ProgramType.RAW_TRACEPOINT, license: 'Proprietary', instructions: printk }),
        ).toThrow(/cannot call GPL-restricted function from non-GPL compatible program/);
        using dual = system.loadProgram({ name: 'dual', type: ProgramType.RAW_TRACEPOINT, license: 'Dual MIT/GPL', instructions: printk });
        expect(dual.testRun().returnValue).toBe(0);
      });

      it('raw tracepoint and syscall programs take a context; a syscall program writes it back', () => {
        using system = backend.open();
        using tp = load(system, 'tp', ProgramType.RAW_TRACEPOINT, 'ldxdw %r0, [%r1+8]\nexit');
        expect(tp.testRun({ context: new Uint8Array(new BigUint64Array([1n, 99n]).buffer) }).returnValue).toBe(99);
        using sc = load(
          system,
          'sc',
          ProgramType.SYSCALL,
          'ldxw %r2, [%r1+0]\nadd %r2, 1\nstxw [%r1+4], %r2\nmov %r0, 5\nexit',
          ProgramFlags.SLEEPABLE,
        );
        // Syscall programs must be sleepable: the verifier refuses the others.
        expect(() => load(system, 'sc2', ProgramType.SYSCALL, 'mov %r0, 0\nexit')).toThrow(/can only be sleepable/);
        const r = sc.testRun({ context: new Uint8Array(new Uint32Array([41, 0]).buffer) });
        expect(r.returnValue).toBe(5);
        expect([...new Uint32Array(r.context!.slice().buffer)]).toEqual([41, 42]);
      });
    },
  );
}
