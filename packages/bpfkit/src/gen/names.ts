/**
 * C names as TypeScript identifiers: valid, not reserved, and unique in
 * their namespace (types and values are separate namespaces in TypeScript,
 * as struct tags and ordinary identifiers are in C).
 *
 * @module
 */

/** Words a binding (type or value) may not be named in strict-mode ES modules and TypeScript. */
const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'implements interface let package private protected public static yield await arguments eval'
  ).split(' '),
);

/** Names a type alias or interface may not take (TypeScript's own types). */
const RESERVED_TYPES: ReadonlySet<string> = new Set(
  'any unknown never number bigint boolean string symbol object undefined intrinsic'.split(' '),
);

/** Globals generated code refers to, which a declaration of that name would shadow. */
const USED_GLOBALS: ReadonlySet<string> = new Set(
  'Uint8Array Array Object Record Readonly Omit Partial Disposable Symbol BigInt Number String Error undefined NaN Infinity globalThis'.split(
    ' ',
  ),
);

/**
 * `name` made a valid identifier: characters outside `[A-Za-z0-9_$]` become
 * `_`, a leading digit gets a `_` before it, an empty name becomes `_`, and
 * a reserved word (for types also TypeScript's own type names) gets a `_`
 * after it.
 *
 * @example
 * identifier('default'); // 'default_'
 * identifier('string', 'type'); // 'string_'
 * identifier('foo___v2'); // 'foo___v2'
 */
export function identifier(name: string, namespace: 'type' | 'value' = 'value'): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (id === '') id = '_';
  if (/^[0-9]/.test(id)) id = `_${id}`;
  while (RESERVED_WORDS.has(id) || USED_GLOBALS.has(id) || (namespace === 'type' && RESERVED_TYPES.has(id))) id = `${id}_`;
  return id;
}

/**
 * The identifiers taken in one namespace of a generated file: each claim
 * gets a free one, the name itself when it is free, else with `_2`, `_3` …
 * after it.
 *
 * @example
 * const types = new NameTable('type');
 * types.claim('foo'); // 'foo'
 * types.claim('foo'); // 'foo_2'
 */
export class NameTable {
  readonly #taken = new Set<string>();
  readonly #namespace: 'type' | 'value';

  constructor(namespace: 'type' | 'value', reserved: Iterable<string> = []) {
    this.#namespace = namespace;
    for (const r of reserved) this.#taken.add(r);
  }

  /** Whether `id` is taken. */
  has(id: string): boolean {
    return this.#taken.has(id);
  }

  /** Marks `id` taken (as it is). */
  take(id: string): void {
    this.#taken.add(id);
  }

  /** A free identifier for `name` (made valid first), now taken. */
  claim(name: string): string {
    const base = identifier(name, this.#namespace);
    let id = base;
    for (let n = 2; this.#taken.has(id); n++) id = `${base}_${n}`;
    this.#taken.add(id);
    return id;
  }
}
