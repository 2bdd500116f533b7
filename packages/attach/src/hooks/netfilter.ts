/**
 * netfilter hooks (6.4 links).
 *
 * @module
 */
import { AttachType, InvalidArgumentError, ProgramType } from '@bpfkit/core';
import type { NetfilterTarget, Program } from '@bpfkit/core';
import { inNetns, linkCreate } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { expectProgramType } from './attachment.js';

/** `netfilter.pf`: NFPROTO_IPV4, NFPROTO_IPV6 (uapi linux/netfilter.h). */
const FAMILY = { ipv4: 2, ipv6: 10 } as const;
/** `netfilter.hooknum`: enum nf_inet_hooks. */
const HOOK = { pre_routing: 0, local_in: 1, forward: 2, local_out: 3, post_routing: 4 } as const;
/** BPF_F_NETFILTER_IP_DEFRAG (6.6). */
const IP_DEFRAG = 1;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/**
 * A netfilter hook: a netfilter link (6.4) in the namespace of
 * `target.netns` (default this thread's). The program's return value is
 * the verdict (NF_DROP 0, NF_ACCEPT 1). Links at the same hook run in
 * priority order; NF_IP_PRI_FIRST and NF_IP_PRI_LAST (INT_MIN, INT_MAX)
 * are the kernel's own. With `defrag` (6.6), fragments are reassembled
 * first, which needs a priority after the defrag hook's (-400).
 */
export function attachNetfilter(program: Program, target: NetfilterTarget): KernelLink {
  expectProgramType(program, [ProgramType.NETFILTER], 'netfilter target: program');
  const pf = Object.hasOwn(FAMILY, target.family) ? FAMILY[target.family] : undefined;
  if (pf === undefined) throw new InvalidArgumentError('netfilter target: family', "'ipv4' or 'ipv6'", target.family);
  const hooknum = Object.hasOwn(HOOK, target.hook) ? HOOK[target.hook] : undefined;
  if (hooknum === undefined)
    throw new InvalidArgumentError(
      'netfilter target: hook',
      "'pre_routing', 'local_in', 'forward', 'local_out' or 'post_routing'",
      target.hook,
    );
  const priority = target.priority;
  if (!Number.isInteger(priority) || priority <= INT_MIN || priority >= INT_MAX)
    throw new InvalidArgumentError(
      'netfilter target: priority',
      'an integer strictly between INT_MIN and INT_MAX (those two are reserved)',
      priority,
    );
  if (target.defrag !== undefined && typeof target.defrag !== 'boolean')
    throw new InvalidArgumentError('netfilter target: defrag', 'a boolean or left out', target.defrag);
  const label = `netfilter link (${target.family} ${target.hook}, priority ${priority}${target.netns ? `, in '${target.netns}'` : ''}) of program '${program.name}'`;
  const fd = inNetns(target.netns, () =>
    linkCreate(
      { progFd: program.fd, attachType: AttachType.NETFILTER, netfilter: { pf, hooknum, priority, flags: target.defrag ? IP_DEFRAG : 0 } },
      {
        subject: label,
        ...(target.defrag ? { hint: 'defragmentation needs Linux 6.6, the nf_defrag module and a priority above -400' } : {}),
      },
    ),
  );
  return new KernelLink(fd, target, label);
}
