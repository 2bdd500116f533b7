/**
 * sk_msg and sk_skb programs on a sockmap or sockhash: sockmap links
 * (6.10), or BPF_PROG_ATTACH to the map.
 *
 * @module
 */
import { AttachType, attachTypeName, InvalidArgumentError, MapType, mapTypeName, ProgramType } from '@bpfkit/core';
import type { Link, Program, SockmapTarget } from '@bpfkit/core';
import { closeFd, getFdById, linkCreate, mapInfoByFd, probeFeature, progAttach } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { expectProgramType } from './attachment.js';
import { ProgAttachment } from './prog-attachment.js';
import type { ProgAttachHook } from './prog-attachment.js';

/** The program type each sockmap attach type takes. */
const PROGRAM_TYPE: Readonly<Record<number, number>> = {
  [AttachType.SK_MSG_VERDICT]: ProgramType.SK_MSG,
  [AttachType.SK_SKB_STREAM_PARSER]: ProgramType.SK_SKB,
  [AttachType.SK_SKB_STREAM_VERDICT]: ProgramType.SK_SKB,
  [AttachType.SK_SKB_VERDICT]: ProgramType.SK_SKB,
};

/**
 * An sk_msg or sk_skb program on a sockmap or sockhash, for
 * `target.attachType`: a sockmap link (6.10) where the kernel has them
 * (`method: 'link'`), BPF_PROG_ATTACH to the map otherwise (`'attach'`).
 *
 * The kernel gives each socket the map's programs when the socket is
 * added: a program attached later reaches only sockets added afterwards,
 * and one detached keeps running for the sockets already in the map until
 * they leave it. The attachment holds the map (as a sockmap link does), so
 * the map lives as long as the attachment.
 */
export function attachSockmap(program: Program, target: SockmapTarget): Link {
  const map = target.map;
  if (map === null || typeof map !== 'object' || map.closed || !(map.fd >= 0))
    throw new InvalidArgumentError('sockmap target: map', 'an open kernel map (a sockmap or sockhash)', map?.name ?? map);
  if (map.type !== MapType.SOCKMAP && map.type !== MapType.SOCKHASH)
    throw new InvalidArgumentError(
      `sockmap target: map '${map.name}'`,
      'a map of type MapType.SOCKMAP or MapType.SOCKHASH',
      `MapType.${mapTypeName(map.type).toUpperCase()}`,
    );
  const programType = PROGRAM_TYPE[target.attachType];
  if (programType === undefined) {
    throw new InvalidArgumentError(
      'sockmap target: attachType',
      'AttachType.SK_MSG_VERDICT, SK_SKB_STREAM_PARSER, SK_SKB_STREAM_VERDICT or SK_SKB_VERDICT',
      target.attachType,
    );
  }
  expectProgramType(program, [programType], 'sockmap target: program');
  if (target.method !== undefined && target.method !== 'link' && target.method !== 'attach')
    throw new InvalidArgumentError('sockmap target: method', "'link', 'attach' or left out", target.method);
  const method = target.method ?? (probeFeature('link:sockmap').has ? 'link' : 'attach');
  const hookName = attachTypeName(target.attachType);
  const label = `sockmap ${method === 'link' ? 'link' : 'attachment'} (${hookName}) on map '${map.name}' of program '${program.name}'`;
  if (method === 'link') {
    const fd = linkCreate({ progFd: program.fd, targetFd: map.fd, attachType: target.attachType }, { subject: label });
    return new KernelLink(fd, target, label);
  }
  // The attachment's own map fd: BPF_PROG_DETACH needs the map, whatever becomes of the caller's handle.
  const mapId = mapInfoByFd(map.fd, undefined, { subject: label }).id;
  const progId = program.info().id;
  const mapFd = getFdById('map', mapId, {}, { subject: label });
  try {
    progAttach({ targetFd: mapFd, attachBpfFd: program.fd, attachType: target.attachType }, { subject: label });
    const hook: ProgAttachHook<SockmapTarget> = {
      kind: 'sockmap',
      what: 'a program attached to a sockmap with BPF_PROG_ATTACH',
      target,
      describe: () => ({ mapId }),
      replace(state, next, where) {
        expectProgramType(next, [programType], `${where}: update`);
        // A second BPF_PROG_ATTACH replaces the map's program of that attach type.
        progAttach({ targetFd: state.targetFd, attachBpfFd: next.fd, attachType: state.attachType }, { subject: `${where}: update` });
      },
    };
    return new ProgAttachment(hook, { targetFd: mapFd, attachType: target.attachType, progId }, label);
  } catch (err) {
    closeFd(mapFd);
    throw err;
  }
}
