/**
 * Programs per network namespace: flow dissectors and sk_lookup (netns links).
 *
 * @module
 */
import fs from 'node:fs';
import { AttachType, BpfError, Errno, InvalidArgumentError, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { FlowDissectorTarget, Program, SkLookupTarget } from '@bpfkit/core';
import { linkCreate, probeFeature } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { expectProgramType, isErrno } from './attachment.js';

/** This thread's network namespace (a thread may have entered another one than the process's). */
const THREAD_NETNS = '/proc/thread-self/ns/net';

/**
 * A flow dissector for a network namespace: a netns link (5.7). The
 * program replaces the kernel's flow dissector for packets of that
 * namespace; one per namespace, and none in a namespace while the initial
 * namespace has one.
 */
export function attachFlowDissector(program: Program, target: FlowDissectorTarget): KernelLink {
  return attachToNetns(program, target, ProgramType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR);
}

/**
 * An sk_lookup program for a network namespace: a netns link (5.9). It runs
 * when a TCP SYN or UDP datagram looks for its local socket, and may pick
 * one with bpf_sk_assign() or drop the packet. Several may be attached;
 * they run in the order attached.
 */
export function attachSkLookup(program: Program, target: SkLookupTarget): KernelLink {
  return attachToNetns(program, target, ProgramType.SK_LOOKUP, AttachType.SK_LOOKUP);
}

function attachToNetns(
  program: Program,
  target: FlowDissectorTarget | SkLookupTarget,
  programType: number,
  attachType: number,
): KernelLink {
  const kind = target.kind;
  expectProgramType(program, [programType], `${kind} target: program`);
  if (target.netns !== undefined && (typeof target.netns !== 'string' || !target.netns))
    throw new InvalidArgumentError(`${kind} target: netns`, 'the path of a network namespace file, or left out', target.netns);
  const path = target.netns ?? THREAD_NETNS;
  const label = `${kind} link in network namespace '${path}' of program '${program.name}'`;
  let nsFd: number;
  try {
    nsFd = fs.openSync(path, fs.constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidArgumentError(`${kind} target: netns '${path}'`, 'a network namespace file this process can open', code);
  }
  try {
    // The link holds the namespace: the file can be closed at once.
    const fd = linkCreate({ progFd: program.fd, targetFd: nsFd, attachType }, { subject: label });
    return new KernelLink(fd, target, label);
  } catch (err) {
    if (isErrno(err, Errno.EINVAL)) {
      if (!probeFeature('link:netns').has) throw new NotSupportedError('netns links', '5.7', `attaching ${kind} programs`);
      throw withHint(err, label, `'${path}' is not a network namespace file`);
    }
    // One flow dissector per namespace: E2BIG for a second link, EEXIST when one was attached
    // with BPF_PROG_ATTACH, or when the initial namespace has one (it overrides every other).
    if (isErrno(err, Errno.E2BIG, Errno.EEXIST) && kind === 'flow_dissector')
      throw withHint(err, label, 'the namespace, or the initial namespace, has a flow dissector already');
    throw err;
  } finally {
    fs.closeSync(nsFd);
  }
}

function withHint(err: BpfError, subject: string, hint: string): BpfError {
  return new BpfError(err.errno, { syscall: err.syscall, command: err.command, subject, hint }, { cause: err });
}
