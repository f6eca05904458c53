/**
 * Per-trial stop rules: declarative data in an evaluation request, checked in TypeScript at epoch
 * boundaries between training segments (evaluate/training-session.ts). The native loop pauses at
 * every boundary a rule names and waits for the verdict, so a candidate killed after epoch k has
 * trained exactly k epochs, its metrics are those of epoch k, and the same seed repeats it.
 */
import type { EpochRecord } from '../engine/engine.js';

/** Kill a candidate whose validation accuracy after `epoch` epochs is below `accuracy`. */
export interface KillBelowRule {
  readonly type: 'kill-below';
  readonly epoch: number;
  readonly accuracy: number;
}

export type StopRule = KillBelowRule;

/** The verdict of a rule that stops a training: which rule, after which epoch, and why. */
export interface StopVerdict {
  readonly rule: StopRule;
  readonly epoch: number;
  readonly reason: string;
}

/** The stop rules of an evaluation's settings (today: its `killBelow`). */
export function stopRulesOf(settings: {
  readonly killBelow?: { readonly epoch: number; readonly accuracy: number };
  readonly stopRules?: readonly StopRule[];
}): readonly StopRule[] {
  return [
    ...(settings.stopRules ?? []),
    ...(settings.killBelow ? [{ type: 'kill-below' as const, ...settings.killBelow }] : []),
  ];
}

/**
 * The epochs after which some rule decides, in order, without repeats: where a training must
 * pause for a verdict.
 */
export function decisionEpochs(rules: readonly StopRule[]): number[] {
  return [...new Set(rules.map((rule) => rule.epoch))].sort((a, b) => a - b);
}

/**
 * The first rule that stops a training whose records so far are `records`, checked after epoch
 * `epoch` (the last record's): null when it goes on. A rule decides only at its own epoch. A
 * missing validation accuracy counts as 0, as a candidate without one cannot show it learns.
 */
export function checkStopRules(
  rules: readonly StopRule[],
  records: readonly EpochRecord[],
): StopVerdict | null {
  const last = records.at(-1);
  if (!last) return null;
  for (const rule of rules) {
    if (rule.epoch !== last.epoch) continue;
    const accuracy = last.valAccuracy ?? 0;
    if (accuracy < rule.accuracy) {
      return {
        rule,
        epoch: last.epoch,
        reason: `validation accuracy ${accuracy.toFixed(4)} after epoch ${rule.epoch} is below ${rule.accuracy}`,
      };
    }
  }
  return null;
}
