// `@bpfkit/elf/testing`: what the test suites of other packages share with elf's own.
export { conformanceMem, conformanceRaw, conformanceSections } from './conformance.js';
export { assembleItems, I, type Item } from './items.js';
export { btfWithTypes } from './btf.js';
