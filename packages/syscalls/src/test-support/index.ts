/**
 * `@bpfkit/syscalls/testing`: what kernel tests share — the gates that
 * decide whether they run, and fixtures that create and remove the kernel
 * objects a test needs.
 *
 * @module
 */
export * from './kernel-gates.js';
export * from './netns.js';
