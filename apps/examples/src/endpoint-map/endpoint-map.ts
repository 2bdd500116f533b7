/**
 * endpoint-map (after cilium's `pkg/bpf` endpoint maps): a pinned map that
 * outlives the process that made it, opened or created at start-up, and
 * upgraded when the program's idea of it changes — a new map made with the
 * new spec, the old one's entries carried over where they fit, the pin
 * moved to the new map.
 *
 * The run plays three starts of an agent: version 1 creates the map and
 * adds endpoints; version 1 again finds them; version 2 (a wider value, more
 * entries) upgrades the map and keeps them. With `--keep` the pin stays for
 * the next run (on the kernel, under the machine's bpffs); without, the last
 * start removes it.
 *
 *   node apps/examples/dist/endpoint-map/main.js [--mock] [--pin-dir DIR] [--keep]
 */
import fs from 'node:fs';
import path from 'node:path';
import { MapMismatchError, MapType, bpffsMountPoint, ensureBpffs, mac, openSystem, struct, u16, u32 } from 'bpfkit';
import type { Codec, Map, MapSpec, System } from 'bpfkit';

/** One endpoint as the agent stores it. `lxcId` exists from version 2 on. */
export interface Endpoint {
  ifindex: number;
  mac: string;
  flags: number;
  lxcId?: number;
}

/** The map's layout at each version of the agent. */
const VERSIONS = {
  // struct endpoint_v1 { __u32 ifindex; __u8 mac[6]; __u16 flags; } (12 bytes)
  1: {
    spec: { name: 'endpoints', type: MapType.HASH, keySize: 4, valueSize: 12, maxEntries: 1024 },
    value: struct({ ifindex: [0, u32], mac: [4, mac], flags: [10, u16] }, { size: 12, name: 'struct endpoint_v1' }),
  },
  // struct endpoint_v2 { __u32 ifindex; __u8 mac[6]; __u16 flags; __u32 lxc_id; } (16 bytes), and twice the entries
  2: {
    spec: { name: 'endpoints', type: MapType.HASH, keySize: 4, valueSize: 16, maxEntries: 2048 },
    value: struct({ ifindex: [0, u32], mac: [4, mac], flags: [10, u16], lxcId: [12, u32] }, { size: 16, name: 'struct endpoint_v2' }),
  },
} as const satisfies Record<number, { spec: MapSpec; value: Codec<Endpoint> }>;

export type EndpointMapVersion = keyof typeof VERSIONS;

/** What opening the map did. */
export type OpenOutcome = 'created' | 'opened' | 'upgraded';

/**
 * Opens the endpoint map pinned at `pinPath` as `version` lays it out:
 * creates and pins it when nothing is pinned there; when the pinned map has
 * another layout, upgrades it — every entry of the old map copied into a
 * new one (fields the new layout adds start at 0, fields it drops are
 * dropped), the new map pinned in the old one's place.
 *
 * @example
 * const { map, outcome } = openEndpointMap(system, '/sys/fs/bpf/agent/endpoints', 2);
 */
export function openEndpointMap(
  system: System,
  pinPath: string,
  version: EndpointMapVersion,
): { map: Map<number, Endpoint>; outcome: OpenOutcome; carried: number } {
  const { spec, value } = VERSIONS[version];
  const codecs = { key: u32, value: value as Codec<Endpoint> };
  let existed = true;
  try {
    system.openPinnedMap(pinPath).close();
  } catch {
    existed = false;
  }
  try {
    return { map: system.openOrCreateMap(spec, { pinPath }, codecs), outcome: existed ? 'opened' : 'created', carried: 0 };
  } catch (err) {
    if (!(err instanceof MapMismatchError)) throw err;
  }
  // Another layout is pinned: read it as the version whose spec it matches, copy into the new one.
  const pinned = system.openPinnedMap(pinPath);
  const sizes = { keySize: pinned.keySize, valueSize: pinned.valueSize };
  pinned.close();
  const from = Object.values(VERSIONS).find((v) => v.spec.valueSize === sizes.valueSize && v.spec.keySize === sizes.keySize);
  if (!from)
    throw new Error(`endpoint-map: the map pinned at ${pinPath} has ${sizes.valueSize}-byte values, which no version of this agent wrote`);
  using old = system.openPinnedMap(pinPath, { key: u32, value: from.value as Codec<Endpoint> });
  const map = system.createMap(spec, codecs);
  let carried = 0;
  try {
    for (const [id, endpoint] of old) {
      map.update(id, { lxcId: 0, ...endpoint }, 'noexist');
      carried++;
    }
    // The pin moves last: until here, a crash leaves the old map pinned and whole.
    old.unpin();
    map.pin(pinPath);
  } catch (err) {
    map.close();
    throw err;
  }
  return { map, outcome: 'upgraded', carried };
}

/** Options of {@link runEndpointMap}. */
export interface EndpointMapOptions {
  backend?: 'auto' | 'kernel' | 'mock';
  /** Where the map is pinned (default: `<bpffs>/bpfkit-examples` on the kernel, `/bpfkit-examples` in the mock's namespace). */
  pinDir?: string;
  /** Leaves the pin for the next run. */
  keep?: boolean;
  log?: (line: string) => void;
}

/**
 * Plays three starts of the agent (v1, v1, v2) against one pin.
 *
 * @example
 * await runEndpointMap({ backend: 'mock' });
 */
export async function runEndpointMap(
  options: EndpointMapOptions = {},
): Promise<{ version: EndpointMapVersion; outcome: OpenOutcome; carried: number; entries: [number, Endpoint][] }[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  using system = await openSystem({ backend: options.backend ?? 'auto' });
  let dir = options.pinDir;
  if (dir === undefined) {
    if (system.kind === 'kernel') {
      ensureBpffs(); // /sys/fs/bpf, mounted when it is not
      dir = path.join(bpffsMountPoint() ?? '/sys/fs/bpf', 'bpfkit-examples');
    } else {
      dir = '/bpfkit-examples';
    }
  }
  const pinPath = path.join(dir, 'endpoints');
  if (system.kind === 'kernel') fs.mkdirSync(dir, { recursive: true });
  log(`endpoint map pinned at ${pinPath} (${system.kind})`);
  const starts: { version: EndpointMapVersion; add?: [number, Endpoint] }[] = [
    { version: 1, add: [7, { ifindex: 3, mac: '02:00:00:00:00:07', flags: 1 }] },
    { version: 1, add: [9, { ifindex: 4, mac: '02:00:00:00:00:09', flags: 0 }] },
    { version: 2, add: [11, { ifindex: 5, mac: '02:00:00:00:00:0b', flags: 1, lxcId: 1100 }] },
  ];
  const results = [];
  for (const [i, start] of starts.entries()) {
    const { map, outcome, carried } = openEndpointMap(system, pinPath, start.version);
    try {
      if (start.add) map.update(...start.add);
      const entries = [...map.entries()].sort(([a], [b]) => a - b);
      results.push({ version: start.version, outcome, carried, entries });
      log(
        `start ${i + 1}: v${start.version} ${outcome}${outcome === 'upgraded' ? ` (${carried} entries carried over)` : ''}: ${entries
          .map(([id, e]) => `${id} → if${e.ifindex} ${e.mac}${e.lxcId !== undefined ? ` lxc ${e.lxcId}` : ''}`)
          .join(', ')}`,
      );
      if (i === starts.length - 1 && !options.keep) map.unpin();
    } finally {
      map.close(); // the pin keeps the map alive between starts
    }
  }
  return results;
}
