import { describe, expect, it } from 'vitest';
import { TensorData } from '../../src/engine/engine.js';
import { type EvaluationSettings, evaluateCandidate } from '../../src/evaluate/evaluator.js';
import type { PreparedData } from '../../src/evaluate/prepared-data.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import { checkStopRules, decisionEpochs, stopRulesOf } from '../../src/evaluate/stop-rules.js';
import { TrainingSession } from '../../src/evaluate/training-session.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { syntheticImages } from '../helpers.js';

const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
const architecture = genomeToArchitecture('NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;', small);

function prepared(): PreparedData {
  const train = TensorData.fromImages(syntheticImages(96, { seed: 1 }));
  const validation = TensorData.fromImages(syntheticImages(48, { seed: 2 }));
  const test = TensorData.fromImages(syntheticImages(48, { seed: 3 }));
  return {
    dataset: 'synthetic',
    input: small.input,
    classes: ['a', 'b', 'c', 'd'],
    train,
    validation,
    test,
    release: () => undefined,
  };
}

const data = prepared();
const protocol = getProtocol('course');
const settings: EvaluationSettings = {
  protocol: { ...protocol, training: { ...protocol.training, batchSize: 16 } },
  epochs: 4,
  seed: 3,
  device: 'cpu',
};
const withoutSeconds = (records: readonly { seconds: number }[]) =>
  records.map((record) => ({ ...record, seconds: 0 }));
/** Metrics without the wall-clock ones. */
const timeless = (metrics: Record<string, number>) => ({ ...metrics, train_seconds: 0 });

describe('stop rules', () => {
  it('decide only at their own epoch, in order', () => {
    const rules = stopRulesOf({
      killBelow: { epoch: 3, accuracy: 0.5 },
      stopRules: [{ type: 'kill-below', epoch: 1, accuracy: 0.2 }],
    });
    expect(decisionEpochs([...rules, ...rules])).toEqual([1, 3]);
    const record = (epoch: number, valAccuracy: number | null) => ({
      epoch,
      trainLoss: 1,
      trainAccuracy: 0.5,
      valLoss: 1,
      valAccuracy,
      lr: 0.1,
      seconds: 0,
    });
    expect(checkStopRules(rules, [record(1, 0.3)])).toBeNull();
    expect(checkStopRules(rules, [record(1, 0.1)])?.rule.epoch).toBe(1);
    expect(checkStopRules(rules, [record(1, 0.3), record(2, 0.1)])).toBeNull();
    expect(checkStopRules(rules, [record(1, 0.3), record(2, 0.1), record(3, 0.4)])?.reason).toBe(
      'validation accuracy 0.4000 after epoch 3 is below 0.5',
    );
    expect(checkStopRules(rules, [record(1, null)])?.epoch).toBe(1);
  });
});

describe('training sessions', () => {
  it('advancing to 2 then to 4 gives the result of one evaluation to 4', async () => {
    const whole = await evaluateCandidate(architecture, data, settings);
    expect(whole.status).toBe('ok');
    const session = TrainingSession.start(architecture, data, settings);
    const rung = await session.advance(2);
    expect(rung).toMatchObject({ epoch: 2, state: 'paused' });
    const end = await session.advance(10);
    expect(end.state).toBe('ended');
    const result = await session.finish();
    session.release();
    expect(result.fidelity).toBe(whole.fidelity);
    expect(withoutSeconds(result.epochs)).toEqual(withoutSeconds(whole.epochs));
    expect(timeless(result.metrics)).toEqual(timeless(whole.metrics));
  });

  it('kill-below stops at its epoch: fidelity and metrics of that epoch, the same every run', async () => {
    const killing: EvaluationSettings = { ...settings, killBelow: { epoch: 2, accuracy: 1.01 } };
    const runs = await Promise.all([
      evaluateCandidate(architecture, data, killing),
      evaluateCandidate(architecture, data, killing),
    ]);
    const [first, second] = runs;
    for (const run of runs) {
      expect(run.status).toBe('killed');
      expect(run.fidelity).toBe(2);
      expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2]);
      expect(run.error).toMatch(/after epoch 2 is below 1.01/);
    }
    expect(withoutSeconds(second?.epochs ?? [])).toEqual(withoutSeconds(first?.epochs ?? []));
    expect(timeless(second?.metrics ?? {})).toEqual(timeless(first?.metrics ?? {}));
    // the killed run's epochs are the first 2 epochs of the full training
    const whole = await evaluateCandidate(architecture, data, settings);
    expect(withoutSeconds(first?.epochs ?? [])).toEqual(withoutSeconds(whole.epochs.slice(0, 2)));
    // a rule the candidate passes changes nothing
    const passing = await evaluateCandidate(architecture, data, {
      ...settings,
      killBelow: { epoch: 2, accuracy: 0 },
    });
    expect(passing.status).toBe('ok');
    expect(withoutSeconds(passing.epochs)).toEqual(withoutSeconds(whole.epochs));
  });
});
