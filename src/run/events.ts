/** What a search reports while it runs (the CLI's progress lines, the tests' probes). */
import type { CandidateResult } from '../evaluate/evaluator.js';
import type { EvaluationDecision } from '../store/index.js';
import type { SearchConfig } from './config.js';

export type SearchEvent =
  | { type: 'run'; runId: string; resumed: boolean; config: SearchConfig }
  | { type: 'generation'; generation: number; candidates: number }
  | { type: 'candidate-start'; id: string; genome: string; generation: number; epochs: number }
  | {
      type: 'candidate-epoch';
      id: string;
      epoch: number;
      epochs: number;
      valAccuracy: number | null;
    }
  | {
      type: 'candidate-done';
      id: string;
      genome: string;
      generation: number;
      status: CandidateResult['status'];
      metrics: Record<string, number>;
      error?: string;
      /** Why the run decided on it without a full training (a pruner, a screen, a constraint). */
      decision?: EvaluationDecision;
      reused: boolean;
    }
  | { type: 'finished'; runId: string; reason: string; evaluated: number };

export type SearchEventListener = (event: SearchEvent) => void;
