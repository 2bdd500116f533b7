import { describe, expect, it } from 'vitest';
import { CgroupVerdict, SocketFilter, TcAction, XdpAction } from './verdicts.js';

describe('program verdicts', () => {
  it('carry the kernel’s values (uapi linux/bpf.h enum xdp_action, linux/pkt_cls.h TC_ACT_*)', () => {
    expect(XdpAction).toEqual({ ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 });
    expect([TcAction.UNSPEC, TcAction.OK, TcAction.SHOT, TcAction.REDIRECT, TcAction.TRAP]).toEqual([-1, 0, 2, 7, 8]);
    expect([SocketFilter.DROP, SocketFilter.ACCEPT, CgroupVerdict.REJECT, CgroupVerdict.ALLOW]).toEqual([0, 0xffffffff, 0, 1]);
  });
});
