import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import {
  AttachFlags,
  AttachType,
  CgroupVerdict,
  ClosedError,
  InvalidArgumentError,
  LinkType,
  NotSupportedError,
  ProgramType,
} from '@bpfkit/core';
import { mounts, progQuery } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { counters, countAsm, load } from '../test-support/sockets.js';

const cgroup2 = mounts().find((m) => m.fstype === 'cgroup2')?.target;
const noCgroup2 = cgroup2 === undefined ? 'no cgroup2 file system is mounted' : undefined;

/** A cgroup the test creates under the cgroup2 mount, removed on dispose (a child that moved in has exited by then). */
function testCgroup(name: string) {
  const dir = `${cgroup2}/bpfkit-${name}-${process.pid}`;
  fs.mkdirSync(dir);
  return {
    dir,
    [Symbol.dispose]() {
      fs.rmdirSync(dir);
    },
  };
}

/** Runs a node child that moves itself into `cgroup`, then runs `script`. */
function runInCgroup(cgroup: string, script: string): void {
  const move = `require('fs').writeFileSync(${JSON.stringify(`${cgroup}/cgroup.procs`)}, String(process.pid));`;
  const r = spawnSync(process.execPath, ['-e', move + script], { encoding: 'utf8', timeout: 20_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

/** One UDP datagram to the loopback discard port, from inside the cgroup. */
const sendUdp = (cgroup: string) =>
  runInCgroup(cgroup, `const s = require('dgram').createSocket('udp4'); s.send('bpfkit', 9, '127.0.0.1', () => s.close());`);

/** The ids of the programs attached to a cgroup hook (BPF_PROG_QUERY). */
function attachedTo(dir: string, attachType: number): number[] {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const ids = new Uint8Array(16 * 4);
    const { progCnt } = progQuery({ targetFd: fd, attachType, progIds: ids });
    return Array.from(new Uint32Array(ids.buffer, 0, progCnt));
  } finally {
    fs.closeSync(fd);
  }
}

/** A cgroup_skb program counting packets into a counter map of its own, letting them go. */
function skbCounter(name: string) {
  const c = counters(1, name);
  const prog = load(name, ProgramType.CGROUP_SKB, `${countAsm(c.fd, 0, 'out')}\nout:\n mov %r0, ${CgroupVerdict.ALLOW}\n exit`);
  return {
    prog,
    read: () => c.read(),
    id: () => prog.info().id,
    [Symbol.dispose]() {
      prog.close();
      c[Symbol.dispose]();
    },
  };
}

const skbGate = whenKernel('program:cgroup_skb').unless(noCgroup2);
const EGRESS = AttachType.CGROUP_INET_EGRESS;

skbGate.it(
  'cgroup: BPF_PROG_ATTACH with ALLOW_MULTI counts a child’s packets; update() replaces the program in place; detach leaves the hook empty',
  () => {
    using cg = testCgroup('multi');
    using a = skbCounter('count_a');
    using b = skbCounter('count_b');
    const attachment = attachProgram(a.prog, {
      kind: 'cgroup',
      path: cg.dir,
      attachType: EGRESS,
      method: 'attach',
      flags: AttachFlags.ALLOW_MULTI,
    });
    try {
      expect(attachment.info()).toMatchObject({ kind: 'cgroup', method: 'attach', progId: a.id(), attachType: EGRESS, path: cg.dir });
      expect(attachment.info().id).toBeUndefined();
      sendUdp(cg.dir);
      expect(a.read()).toBeGreaterThan(0n);
      attachment.update(b.prog);
      expect(attachedTo(cg.dir, EGRESS)).toEqual([b.id()]);
      expect(attachment.info().progId).toBe(b.id());
      const aBefore = a.read();
      sendUdp(cg.dir);
      expect(b.read()).toBeGreaterThan(0n);
      expect(a.read()).toBe(aBefore);
      expect(() => attachment.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
    } finally {
      attachment.detach();
    }
    expect(attachment.closed).toBe(true);
    expect(() => attachment.info()).toThrow(ClosedError);
    expect(attachedTo(cg.dir, EGRESS)).toEqual([]);
    const bAfter = b.read();
    sendUdp(cg.dir);
    expect(b.read()).toBe(bAfter);
  },
);

skbGate.it(
  'cgroup: `replace` swaps an attached program for another (BPF_F_REPLACE); closing the replaced one’s handle leaves the new one',
  () => {
    using cg = testCgroup('replace');
    using a = skbCounter('count_a');
    using b = skbCounter('count_b');
    using c = skbCounter('count_c');
    const multi = { kind: 'cgroup', path: cg.dir, attachType: EGRESS, method: 'attach', flags: AttachFlags.ALLOW_MULTI } as const;
    const first = attachProgram(a.prog, multi);
    using other = attachProgram(c.prog, multi);
    expect(attachedTo(cg.dir, EGRESS)).toEqual([a.id(), c.id()]);
    using second = attachProgram(b.prog, { ...multi, replace: a.prog });
    // In place: b runs where a ran, before c.
    expect(attachedTo(cg.dir, EGRESS)).toEqual([b.id(), c.id()]);
    first.close();
    expect(attachedTo(cg.dir, EGRESS)).toEqual([b.id(), c.id()]);
    sendUdp(cg.dir);
    expect(b.read()).toBeGreaterThan(0n);
    expect(a.read()).toBe(0n);
    second.close();
    other.close();
    expect(attachedTo(cg.dir, EGRESS)).toEqual([]);
  },
);

skbGate.it('cgroup: without ALLOW_MULTI a second attach takes the hook, and the first handle’s detach leaves it be', () => {
  using cg = testCgroup('single');
  using a = skbCounter('count_a');
  using b = skbCounter('count_b');
  const single = { kind: 'cgroup', path: cg.dir, attachType: EGRESS, method: 'attach' } as const;
  const first = attachProgram(a.prog, single);
  const second = attachProgram(b.prog, single);
  try {
    expect(attachedTo(cg.dir, EGRESS)).toEqual([b.id()]);
    // The kernel would detach whatever the hook holds: the handle checks that it is still its own.
    first.close();
    expect(attachedTo(cg.dir, EGRESS)).toEqual([b.id()]);
  } finally {
    first.close();
    second.close();
  }
  expect(attachedTo(cg.dir, EGRESS)).toEqual([]);
});

skbGate.it('cgroup: refuses replace without ALLOW_MULTI, attach flags on a link, an unknown method and a path that is no cgroup', () => {
  using cg = testCgroup('refusals');
  using a = skbCounter('count_a');
  using b = skbCounter('count_b');
  const base = { kind: 'cgroup', path: cg.dir, attachType: EGRESS } as const;
  expect(() => attachProgram(b.prog, { ...base, method: 'attach', replace: a.prog })).toThrow(
    /cgroup target: flags: expected AttachFlags.ALLOW_MULTI with replace/,
  );
  expect(() => attachProgram(b.prog, { ...base, flags: AttachFlags.ALLOW_MULTI })).toThrow(InvalidArgumentError);
  expect(() => attachProgram(b.prog, { ...base, flags: AttachFlags.ALLOW_MULTI })).toThrow(/with a cgroup link/);
  expect(() => attachProgram(b.prog, { ...base, method: 'netlink' as 'link' })).toThrow(/cgroup target: method/);
  expect(() => attachProgram(b.prog, { ...base, path: '/nonexistent/bpfkit', method: 'attach' })).toThrow(
    /cgroup target: path: expected a cgroup v2 directory this process can open/,
  );
  expect(attachedTo(cg.dir, EGRESS)).toEqual([]);
});

/** bpf_sock_ops->op values (uapi enum): the program counts each one in its own slot. */
const TCP_CONNECT_CB = 3;
const ACTIVE_ESTABLISHED_CB = 4;
const PASSIVE_ESTABLISHED_CB = 5;

const sockOpsGate = whenKernel('program:sock_ops', 'link:cgroup').unless(noCgroup2);

sockOpsGate.it(
  'sock_ops: counts the TCP events of a child’s connection from a cgroup the test creates, until the link closes',
  async () => {
    using cg = testCgroup('sockops');
    using perOp = counters(16, 'ops');
    using prog = load(
      'count_ops',
      ProgramType.SOCK_OPS,
      `
      ldxw %r7, [%r1+0]        # bpf_sock_ops->op
      ${countAsm(perOp.fd, 'r7', 'out')}
    out:
      mov %r0, 1
      exit`,
    );
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // The child connects (the handshake completes in the kernel's backlog while this process waits) and leaves.
    const connect = () =>
      runInCgroup(cg.dir, `const c = require('net').connect(${port}, '127.0.0.1', () => c.destroy()); c.on('error', (e) => { throw e; });`);
    try {
      {
        using link = attachProgram(prog, { kind: 'cgroup', path: cg.dir, attachType: AttachType.CGROUP_SOCK_OPS });
        expect(link.info()).toMatchObject({ type: LinkType.CGROUP, progId: prog.info().id });
        connect();
        expect(perOp.read(TCP_CONNECT_CB)).toBe(1n);
        expect(perOp.read(ACTIVE_ESTABLISHED_CB)).toBe(1n);
        // The listening socket is this process's, outside the cgroup: its side is not counted.
        expect(perOp.read(PASSIVE_ESTABLISHED_CB)).toBe(0n);
      }
      connect();
      expect(perOp.read(ACTIVE_ESTABLISHED_CB)).toBe(1n);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
