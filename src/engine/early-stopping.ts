/**
 * Keras `EarlyStopping` on validation loss, as the native training loop applies it
 * (native/nascent.cc, TrainWorker::Execute): the reference the engine's tests hold it to.
 */

/** Where early stopping ends a training whose validation losses are `losses` (epoch 1 first). */
export interface EarlyStoppingOutcome {
  /** The 1-based epoch after which training stops; null when it runs through every epoch given. */
  readonly stopEpoch: number | null;
  /** The 1-based epoch of the lowest loss that counted as an improvement (restoreBest's epoch). */
  readonly bestEpoch: number;
}

/**
 * Keras semantics: an epoch improves when its loss is below the best so far by more than
 * `minDelta`, which resets the wait to 0; any other epoch adds 1 to the wait, and training stops
 * once the wait reaches `patience` (wait >= patience). With patience 2, two epochs in a row
 * without improvement stop it.
 */
export function kerasEarlyStopping(
  losses: readonly number[],
  patience: number,
  minDelta = 0,
): EarlyStoppingOutcome {
  if (!Number.isInteger(patience) || patience < 0) {
    throw new Error(`patience must be a whole number of epochs, at least 0 (got ${patience})`);
  }
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let wait = 0;
  for (const [index, loss] of losses.entries()) {
    const epoch = index + 1;
    if (loss < best - minDelta) {
      best = loss;
      bestEpoch = epoch;
      wait = 0;
      continue;
    }
    wait += 1;
    if (wait >= patience) return { stopEpoch: epoch, bestEpoch };
  }
  return { stopEpoch: null, bestEpoch };
}
