// The kernel's object-name rule lives in core (the mock needs it too).
export { kernelObjectName } from '@bpfkit/core';
