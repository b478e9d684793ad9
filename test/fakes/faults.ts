/** Fault injection of the fakes: the sandboxes' own (src/sandbox/faults.ts). */
export * from '../../src/sandbox/faults.js';
