import fs from 'node:fs';
import os from 'node:os';
import { ClosedError, InvalidArgumentError, LinkType, MapFlags, MapType, ProgramType } from '@bpfkit/core';
import { BtfBuilder, BtfKind } from '@bpfkit/elf';
import { btfLoad, closeFd, mapCreate, mapInfoByFd, mapUpdateElem } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { loadKernelProgram } from './program.js';
import { attachStructOps } from './struct-ops.js';
import type { StructOpsMap } from './struct-ops.js';
import { counters } from './test-support/packet-programs.js';
import { fmodRetProgram, kernelType, memberIndex, memberOffset, returnProgram } from './test-support/trace-programs.js';

const LE = os.endianness() === 'LE';
const structOps = whenKernel('map:struct_ops', 'program:struct_ops', 'struct-ops-link');
const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const available = () => fs.readFileSync(AVAILABLE, 'utf8').trim().split(/\s+/);

let serial = 0;

/**
 * A tcp_congestion_ops struct_ops map (BPF_F_LINK) named `name`, its
 * ssthresh, cong_avoid and undo_cwnd hand-written programs (cong_avoid
 * counting its calls in slot 0 of `countFd`, when given), and its value
 * stored; all closed on dispose.
 */
function congestionControl(o: { store?: boolean; name?: string; countFd?: number } = {}) {
  const { store = true, name = `bpfkit${process.pid % 100_000}_${serial++}`, countFd } = o; // TCP_CA_NAME_MAX is 16 with the NUL
  const ops = kernelType('tcp_congestion_ops', BtfKind.STRUCT);
  const wrapper = kernelType('bpf_struct_ops_tcp_congestion_ops', BtfKind.STRUCT);
  const owned: (() => void)[] = [];
  const dispose = () => {
    for (const release of owned.reverse()) release();
  };
  try {
    // The kernel wants some BTF of the object behind a struct_ops map (btf_fd); one int will do.
    const b = new BtfBuilder();
    b.addInt('int', 4, true);
    const btfFd = btfLoad(b.encode(LE));
    owned.push(() => closeFd(btfFd));
    const fd = mapCreate({
      mapType: MapType.STRUCT_OPS,
      keySize: 4,
      valueSize: wrapper.sizeOrType,
      maxEntries: 1,
      mapFlags: MapFlags.LINK,
      mapName: 'bpfkit_cc',
      btfFd,
      btfVmlinuxValueTypeId: wrapper.id,
    });
    owned.push(() => closeFd(fd));
    const value = new Uint8Array(wrapper.sizeOrType);
    const view = new DataView(value.buffer);
    const data = memberOffset('bpf_struct_ops_tcp_congestion_ops', 'data');
    for (const [member, returns] of [
      ['ssthresh', 10],
      ['cong_avoid', 0],
      ['undo_cwnd', 10],
    ] as const) {
      const instructions =
        member === 'cong_avoid' && countFd !== undefined ? fmodRetProgram(countFd, 0) /* count, return 0 */ : returnProgram(returns);
      const prog = loadKernelProgram(
        {
          name: `cc_${member}`,
          type: ProgramType.STRUCT_OPS,
          expectedAttachType: memberIndex('tcp_congestion_ops', member),
          instructions,
          license: 'GPL',
        },
        { attachBtfId: ops.id },
      );
      owned.push(() => prog.close());
      view.setBigUint64(data + memberOffset('tcp_congestion_ops', member), BigInt(prog.fd), LE); // a function slot holds the program's fd
    }
    value.set(new TextEncoder().encode(name), data + memberOffset('tcp_congestion_ops', 'name'));
    // TCP_CONG_NON_RESTRICTED: any network namespace may make it its default.
    view.setUint32(data + memberOffset('tcp_congestion_ops', 'flags'), 1, LE);
    // With BPF_F_LINK the update only stores the value; a link registers it.
    if (store) mapUpdateElem(fd, new Uint8Array(4), value);
    const map: StructOpsMap = { name: 'bpfkit_cc', type: MapType.STRUCT_OPS, flags: MapFlags.LINK, fd, closed: false };
    return { name, map, [Symbol.dispose]: dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

structOps.it('struct_ops: a tcp_congestion_ops map registers its congestion control while linked, and not after', () => {
  using cc = congestionControl();
  expect(available()).not.toContain(cc.name);
  const link = attachStructOps(cc.map);
  try {
    expect(available()).toContain(cc.name);
    expect(link.info()).toMatchObject({ kind: 'struct_ops', type: LinkType.STRUCT_OPS, structOps: { mapId: mapInfoByFd(cc.map.fd).id } });
    expect(link.map).toBe(cc.map);
  } finally {
    link.close();
  }
  expect(available()).not.toContain(cc.name);
  expect(() => link.info()).toThrow(ClosedError);
});

structOps
  .unless(networkFixtureUnavailable())
  .it("struct_ops: TCP calls the linked congestion control's cong_avoid once it is a namespace's default", () => {
    using c = counters(1);
    using cc = congestionControl({ countFd: c.fd });
    using _link = attachStructOps(cc.map);
    using net = vethPair(); // deleted first: its default congestion control holds a reference to ours
    const sysctl = net.exec('a', 'sh', ['-c', `echo ${cc.name} > /proc/sys/net/ipv4/tcp_congestion_control`]);
    expect(sysctl.status, sysctl.stderr).toBe(0);
    // 4 MiB over one TCP connection on the namespace's loopback: ACKs of a cwnd-limited sender call cong_avoid.
    const script = `
    const net = require('node:net');
    const server = net.createServer((s) => { s.resume(); s.on('end', () => server.close()); });
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect(server.address().port, '127.0.0.1', () => c.end(Buffer.alloc(4 << 20)));
    });`;
    const r = net.exec('a', process.execPath, ['-e', script], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(c.read()).toBeGreaterThan(0n);
  });

structOps.it('struct_ops: update(map) swaps in another map of the same struct_ops type; detach unregisters', () => {
  using first = congestionControl();
  // tcp_update_congestion_control replaces an algorithm by one of the same name.
  using second = congestionControl({ name: first.name });
  using link = attachStructOps(first.map);
  expect(() => link.update(second.map, { expected: second.map })).toThrow(/EPERM/); // not the registered one
  link.update(second.map, { expected: first.map });
  expect(link.map).toBe(second.map);
  expect(link.info()).toMatchObject({ kind: 'struct_ops', structOps: { mapId: mapInfoByFd(second.map.fd).id } });
  expect(available()).toContain(first.name);
  link.detach(); // in place where the kernel can (6.9), else by closing
  expect(available()).not.toContain(first.name);
});

structOps.it('struct_ops: a map whose value is not stored yet cannot be linked', () => {
  using cc = congestionControl({ store: false });
  expect(() => attachStructOps(cc.map)).toThrow(/must hold its value/);
  expect(available()).not.toContain(cc.name);
});

whenKernel().it('struct_ops: maps that are not BPF_F_LINK struct_ops maps are refused, saying why', () => {
  const base = { name: 'm', fd: 100, closed: false };
  expect(() => attachStructOps({ ...base, type: MapType.HASH, flags: 0 })).toThrow(/expected a struct_ops map .*, got .*of type hash/);
  expect(() => attachStructOps({ ...base, type: MapType.STRUCT_OPS, flags: 0 })).toThrow(
    /registered when its value was stored \(map update\)/,
  );
  expect(() => attachStructOps({ ...base, type: MapType.STRUCT_OPS, flags: MapFlags.LINK, closed: true })).toThrow(InvalidArgumentError);
});
