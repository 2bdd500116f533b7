/**
 * Typed wrappers for link commands: create, update, detach, iterator create.
 *
 * @module
 */
import { BpfCommand } from '../commands.js';
import {
  encodeIterCreateAttr,
  encodeLinkCreateAttr,
  encodeLinkDetachAttr,
  encodeLinkUpdateAttr,
  type LinkCreateAttr,
  type LinkUpdateAttr,
} from '../attr/link.js';
import { callBpf, type BpfCallContext } from './call.js';

/**
 * BPF_LINK_CREATE: attaches a program through a BPF link; returns the link fd.
 *
 * @example
 * const ifindex = 1; // lo
 * declare const otherProgFd: number; // a program attached to the tcx hook already
 * const linkFd = linkCreate({ progFd, targetIfindex: ifindex, attachType: AttachType.XDP });
 * const tcx = linkCreate({ progFd, targetIfindex: ifindex, attachType: AttachType.TCX_INGRESS,
 *   flags: AttachFlags.BEFORE, tcx: { relativeFd: otherProgFd } });
 */
export function linkCreate(fields: LinkCreateAttr, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_LINK_CREATE, encodeLinkCreateAttr(fields), ctx);
}

/**
 * BPF_LINK_UPDATE: replaces the program (or struct_ops map) of a link.
 *
 * @example
 * linkUpdate({ linkFd, newProgFd: progFd });
 */
export function linkUpdate(fields: LinkUpdateAttr, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_LINK_UPDATE, encodeLinkUpdateAttr(fields), ctx);
}

/**
 * BPF_LINK_DETACH (5.9): detaches a link while keeping its fd open.
 *
 * @example
 * linkDetach(linkFd);
 */
export function linkDetach(linkFd: number, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_LINK_DETACH, encodeLinkDetachAttr({ linkFd }), ctx);
}

/**
 * BPF_ITER_CREATE (5.8): creates an iterator instance from an iterator link;
 * returns an fd to read() the output from.
 *
 * @example
 * const iterLinkFd = linkCreate({ progFd, attachType: AttachType.TRACE_ITER });
 * const iterFd = iterCreate(iterLinkFd);
 */
export function iterCreate(linkFd: number, flags = 0, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_ITER_CREATE, encodeIterCreateAttr({ linkFd, flags }), ctx);
}
