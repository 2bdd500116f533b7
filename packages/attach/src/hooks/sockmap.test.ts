import net from 'node:net';
import { AttachType, ClosedError, LinkType, MapType, NotSupportedError, ProgramType } from '@bpfkit/core';
import { mapDeleteElem, progQuery } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { counters, countAsm, eventually, load, socketMap, u32 } from '../test-support/sockets.js';

/** A TCP connection over loopback: the client end and the server's end, each with what it has read. */
interface Connection {
  client: net.Socket;
  peer: net.Socket;
  clientGot: string[];
  peerGot: string[];
}

/** A loopback server and `n` connections to it, all destroyed on dispose. */
async function connections(n: number) {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const out: Connection[] = [];
  for (let i = 0; i < n; i++) {
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    await eventually(() => accepted.some((s) => s.remotePort === client.localPort));
    const peer = accepted.find((s) => s.remotePort === client.localPort) as net.Socket;
    const c: Connection = { client, peer, clientGot: [], peerGot: [] };
    client.setEncoding('latin1').on('data', (d: string) => c.clientGot.push(d));
    peer.setEncoding('latin1').on('data', (d: string) => c.peerGot.push(d));
    out.push(c);
  }
  return {
    connections: out,
    [Symbol.dispose]() {
      for (const c of out) {
        c.client.destroy();
        c.peer.destroy();
      }
      server.close();
    },
  };
}

/** The fd of a connected Node socket (bpfkit's socketFd() lives in a package above this one). */
const fdOf = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;

/** An sk_msg program that counts each message and redirects it to the ingress of the socket in slot 1 of `sockmapFd`. */
function redirectToSlot1(sockmapFd: number, countsFd: number) {
  return load(
    'redirect_1',
    ProgramType.SK_MSG,
    `
      mov %r6, %r1
      ${countAsm(countsFd, 0, 'redirect')}
    redirect:
      mov %r1, %r6
      lddw %r2, map_fd ${sockmapFd}
      mov %r3, 1               # key 1
      mov %r4, 1               # BPF_F_INGRESS: into the socket's receive queue
      call bpf_msg_redirect_map
      exit                     # SK_PASS when the redirect took, SK_DROP otherwise`,
  );
}

const text = (got: string[]) => got.join('');

for (const method of ['link', 'attach'] as const) {
  const gate = whenKernel('program:sk_msg', 'map:sockmap', ...(method === 'link' ? (['link:sockmap'] as const) : []));

  gate.it(
    `sockmap: an sk_msg program (${method}) redirects what one socket sends into another's receive queue, until detached`,
    async () => {
      using conns = await connections(2);
      const [a, b] = conns.connections as [Connection, Connection];
      using socks = socketMap(MapType.SOCKMAP, 2);
      using counts = counters();
      using prog = redirectToSlot1(socks.fd, counts.fd);
      // Sockets take the map's programs when they are added: attach first.
      const link = attachProgram(prog, { kind: 'sockmap', map: socks.map, attachType: AttachType.SK_MSG_VERDICT, method });
      try {
        if (method === 'link') expect(link.info()).toMatchObject({ kind: 'sockmap', type: LinkType.SOCKMAP, progId: prog.info().id });
        else
          expect(link.info()).toMatchObject({
            kind: 'sockmap',
            method: 'attach',
            progId: prog.info().id,
            attachType: AttachType.SK_MSG_VERDICT,
          });
        socks.set(0, fdOf(a.client));
        socks.set(1, fdOf(b.client));
        a.client.write('redirected');
        expect(await eventually(() => text(b.clientGot) === 'redirected')).toBe(true);
        expect(counts.read()).toBe(1n);
      } finally {
        link.close();
      }
      // A socket keeps the programs it took when added: re-adding it after the detach gives it none.
      mapDeleteElem(socks.fd, u32(0));
      socks.set(0, fdOf(a.client));
      a.client.write('direct');
      // TCP keeps order: had the first write gone this way too, the peer would have read it first.
      expect(await eventually(() => text(a.peerGot) === 'direct')).toBe(true);
      expect(text(b.clientGot)).toBe('redirected');
      expect(counts.read()).toBe(1n);
    },
  );
}

const skbGate = whenKernel('program:sk_skb', 'map:sockmap');

skbGate.it('sockmap: an sk_skb stream verdict program sees what a socket in the map receives, and passes it on', async () => {
  using conns = await connections(1);
  const [a] = conns.connections as [Connection];
  using socks = socketMap(MapType.SOCKMAP, 1);
  using counts = counters();
  using verdict = load(
    'count_skb',
    ProgramType.SK_SKB,
    `
      ${countAsm(counts.fd, 0, 'out')}
    out:
      mov %r0, 1               # SK_PASS
      exit`,
  );
  {
    using link = attachProgram(verdict, {
      kind: 'sockmap',
      map: socks.map,
      attachType: AttachType.SK_SKB_STREAM_VERDICT,
      method: 'attach',
    });
    expect(link.info().progId).toBe(verdict.info().id);
    socks.set(0, fdOf(a.peer));
    a.client.write('through the verdict');
    expect(await eventually(() => text(a.peerGot) === 'through the verdict')).toBe(true);
    expect(counts.read()).toBeGreaterThan(0n);
  }
});

const refusals = whenKernel('program:sk_msg', 'program:sk_skb', 'map:sockmap');

refusals.it(
  'sockmap: refuses a map that is not a sockmap, a closed map, a wrong attach type or program type, and pinning an attachment',
  () => {
    using socks = socketMap(MapType.SOCKHASH, 1);
    using counts = counters();
    using msg = load('pass_msg', ProgramType.SK_MSG, 'mov %r0, 1\nexit');
    using skb = load('pass_skb', ProgramType.SK_SKB, 'mov %r0, 1\nexit');
    const array = { ...socks.map, type: MapType.ARRAY, name: 'counts', fd: counts.fd, closed: false } as typeof socks.map;
    expect(() => attachProgram(msg, { kind: 'sockmap', map: array, attachType: AttachType.SK_MSG_VERDICT })).toThrow(
      /sockmap target: map 'counts': expected a map of type MapType.SOCKMAP or MapType.SOCKHASH, got the string "MapType.ARRAY"/,
    );
    expect(() => attachProgram(msg, { kind: 'sockmap', map: socks.map, attachType: AttachType.CGROUP_INET_EGRESS })).toThrow(
      /sockmap target: attachType: expected AttachType.SK_MSG_VERDICT, SK_SKB_STREAM_PARSER/,
    );
    expect(() => attachProgram(skb, { kind: 'sockmap', map: socks.map, attachType: AttachType.SK_MSG_VERDICT })).toThrow(
      /program 'pass_skb': expected a program of type ProgramType.SK_MSG, got the string "ProgramType.SK_SKB"/,
    );
    const attached = attachProgram(skb, { kind: 'sockmap', map: socks.map, attachType: AttachType.SK_SKB_VERDICT, method: 'attach' });
    expect(() => attached.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
    expect(() => attached.pin('/sys/fs/bpf/bpfkit-never')).toThrow(/is not a BPF link, so it has no pin/);
    // BPF_PROG_QUERY on a sockmap (6.0) tells whether the program is still there.
    const query = () => progQuery({ targetFd: socks.fd, attachType: AttachType.SK_SKB_VERDICT }).progCnt;
    expect(query()).toBe(1);
    attached.detach();
    expect(query()).toBe(0);
    expect(() => attached.info()).toThrow(ClosedError);
    socks.close();
    expect(() => attachProgram(msg, { kind: 'sockmap', map: socks.map, attachType: AttachType.SK_MSG_VERDICT })).toThrow(
      /sockmap target: map: expected an open kernel map/,
    );
  },
);
