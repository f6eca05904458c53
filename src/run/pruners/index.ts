/** Pruners over a generation's batch: successive halving and Hyperband with rung continuation. */
export * from './rungs.js';
export * from './successive-halving.js';
