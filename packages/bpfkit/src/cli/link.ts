import { InvalidArgumentError } from '@bpfkit/core';
import { listLinks } from '@bpfkit/attach';
import type { BpfLinkInfo } from '@bpfkit/syscalls';
import { textTable } from '../features/format.js';
import type { CliIo, ParsedArgs } from './main.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** What a link of this kind is attached to, in one line: the kind's own fields of `struct bpf_link_info`. */
function attachedTo(info: BpfLinkInfo): string {
  const { type: _type, id: _id, progId: _progId, kind, ...rest } = info as BpfLinkInfo & Record<string, unknown>;
  const member = Object.values(rest)[0];
  if (member === undefined || typeof member !== 'object' || member === null) return '-';
  return Object.entries(member as Record<string, unknown>)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/**
 * `bpfkit link list`: every BPF link on the system with its program and
 * what it is attached to.
 *
 * @example
 * runLinkCommand({ positional: ['list'], flags: new Set(), options: {} }, { out: console.log, err: console.error });
 */
export function runLinkCommand(args: ParsedArgs, io: CliIo): number {
  const [sub] = args.positional;
  if (sub !== 'list') throw new InvalidArgumentError('link command', "'list'", sub);
  const all = listLinks();
  io.out(
    args.flags.has('json')
      ? json(all)
      : textTable(
          ['id', 'type', 'prog', 'attached to'],
          all.map((l) => [String(l.id), l.kind, String(l.progId), attachedTo(l)]),
        ),
  );
  return 0;
}
