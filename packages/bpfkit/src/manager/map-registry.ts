import { InvalidArgumentError } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';

/**
 * A map of the registry as {@link MapRegistry.list} shows it.
 *
 * @example
 * declare const registry: MapRegistry;
 * const shared: RegisteredMap[] = registry.list().filter((m) => m.sharedWith.length > 0);
 */
export interface RegisteredMap {
  name: string;
  /** The object that created it, or `'user'` for a map registered by hand. */
  owner: string;
  /** Objects whose own map of that name this one replaced. */
  sharedWith: readonly string[];
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Where this handle pinned it (or opened it from), if anywhere. */
  pinnedAt: string | undefined;
}

interface Entry {
  map: Map<unknown, unknown>;
  owner: string;
  owned: boolean;
  sharedWith: string[];
}

/**
 * Maps by name, shared between the objects of a {@link Manager} (Beyla's
 * MapManager): the manager registers each object's maps as it loads them,
 * and a later object that declares a shared map of a registered name gets
 * the registered one instead of its own (a map replacement). A map
 * registered with `owned: true` is closed with the registry.
 *
 * @example
 * const registry = new MapRegistry();
 * const counts = system.createMap({ name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
 * registry.register('counts', counts, { owned: true });
 * registry.get('counts') === counts; // true
 * registry.close(); // closes counts
 */
export class MapRegistry implements Disposable {
  readonly #entries = new globalThis.Map<string, Entry>();

  /**
   * Registers `map` under `name`; a name already taken by another map is refused.
   *
   * @example
   * declare const registry: MapRegistry;
   * registry.register('flows', map, { owner: 'user' });
   */
  register(name: string, map: Map<unknown, unknown>, options: { owner?: string; owned?: boolean } = {}): void {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('register: name', 'a non-empty map name', name);
    if (typeof map !== 'object' || map === null || typeof map.close !== 'function') {
      throw new InvalidArgumentError('register: map', 'a Map of a bpfkit backend', map);
    }
    const taken = this.#entries.get(name);
    if (taken && taken.map !== map) {
      throw new InvalidArgumentError(`register: '${name}'`, `a name not registered yet (it holds a map of ${taken.owner})`, name);
    }
    if (!taken) this.#entries.set(name, { map, owner: options.owner ?? 'user', owned: options.owned ?? false, sharedWith: [] });
  }

  /**
   * Records that `object` uses the registered map `name` in place of its own.
   *
   * @example
   * declare const registry: MapRegistry;
   * registry.markShared('events', 'second');
   */
  markShared(name: string, object: string): void {
    const entry = this.#entries.get(name);
    if (entry && !entry.sharedWith.includes(object)) entry.sharedWith.push(object);
  }

  /**
   * The map registered under `name`, or undefined.
   *
   * @example
   * declare const registry: MapRegistry;
   * const events = registry.get('events');
   */
  get(name: string): Map<unknown, unknown> | undefined {
    return this.#entries.get(name)?.map;
  }

  /**
   * The map registered under `name`; throws naming the registered ones when there is none.
   *
   * @example
   * declare const registry: MapRegistry;
   * const events = registry.require('events');
   */
  require(name: string): Map<unknown, unknown> {
    const map = this.get(name);
    if (!map) throw new InvalidArgumentError('map', `a registered map (${[...this.#entries.keys()].join(', ') || 'none yet'})`, name);
    return map;
  }

  /**
   * Whether a map is registered under `name`.
   *
   * @example
   * declare const registry: MapRegistry;
   * registry.has('events'); // true once an object declaring it is loaded
   */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Forgets `name` (closing its map when the registry owns it); true when it was registered.
   *
   * @example
   * declare const registry: MapRegistry;
   * registry.unregister('flows');
   */
  unregister(name: string): boolean {
    const entry = this.#entries.get(name);
    if (!entry) return false;
    this.#entries.delete(name);
    if (entry.owned && !entry.map.closed) entry.map.close();
    return true;
  }

  /**
   * The registered maps, in registration order.
   *
   * @example
   * declare const registry: MapRegistry;
   * for (const m of registry.list()) console.log(m.name, m.owner, m.sharedWith);
   */
  list(): RegisteredMap[] {
    return [...this.#entries].map(([name, e]) => ({
      name,
      owner: e.owner,
      sharedWith: [...e.sharedWith],
      type: e.map.type,
      keySize: e.map.keySize,
      valueSize: e.map.valueSize,
      maxEntries: e.map.maxEntries,
      pinnedAt: pinnedAt(e.map),
    }));
  }

  /** Number of registered maps. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Forgets every map, closing those the registry owns (maps of the
   * manager's objects are closed with their collections).
   *
   * @example
   * declare const registry: MapRegistry;
   * registry.close();
   */
  close(): void {
    const errors: unknown[] = [];
    for (const entry of this.#entries.values()) {
      try {
        if (entry.owned && !entry.map.closed) entry.map.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.#entries.clear();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'closing the map registry');
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Where a map handle of a bpfkit backend is pinned (or was opened from), if it says.
 *
 * @example
 * pinnedAt(map); // '/sys/fs/bpf/app/events' or undefined
 */
export function pinnedAt(map: Map<unknown, unknown>): string | undefined {
  const value: unknown = (map as { pinnedAt?: unknown }).pinnedAt;
  return typeof value === 'string' ? value : undefined;
}
