import { ClosedError } from './errors.js';

/**
 * Closes file descriptors whose owners were garbage-collected without
 * `close()`. Each backend registers its own release function.
 */
const registry = new FinalizationRegistry<() => void>((release) => {
  try {
    release();
  } catch {
    // A finalizer must never throw: the object is gone either way.
  }
});

/**
 * Base for every handle that owns a kernel object (or a mock stand-in for one):
 * `close()` is idempotent, `[Symbol.dispose]` closes, operations after close
 * throw {@link ClosedError}, and a handle dropped without `close()` is released
 * by a `FinalizationRegistry`.
 *
 * @example
 * class MyHandle extends OwnedHandle {
 *   constructor(fd: number) { super(`fd ${fd}`, () => fs.closeSync(fd)); }
 * }
 * using h = new MyHandle(3); // closed at the end of the scope
 */
export abstract class OwnedHandle implements Disposable {
  #release: (() => void) | undefined;
  readonly #token = {};
  readonly #label: string;

  protected constructor(label: string, release: () => void) {
    this.#label = label;
    this.#release = release;
    registry.register(this, release, this.#token);
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#release === undefined;
  }

  /** Throws {@link ClosedError} if the handle is closed. */
  protected assertOpen(): void {
    if (this.#release === undefined) throw new ClosedError(this.#label);
  }

  /** A human name of the handle, used in error messages. */
  protected get label(): string {
    return this.#label;
  }

  /** Releases the kernel object. Safe to call more than once. */
  close(): void {
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    registry.unregister(this.#token);
    release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
