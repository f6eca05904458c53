/** The NAS-Bench-201 cell search space: arch strings, the macro network, the SearchSpace. */
export * from './arch-string.js';
export * from './cell-space.js';
export * from './macro.js';
