/**
 * Every search space by name, so configs and the command line can pick one (`--space layers`,
 * `--space grammar:grammars/mlp.yaml`) and every strategy works with every space.
 */
import { CellSpace } from './cells/index.js';
import { CnnSpace, type CnnSpaceOptionsInput } from './cnn/index.js';
import { GenomeSpace } from './genome-space.js';
import { GrammarSpace, loadGrammarFile } from './grammar/index.js';
import { LayerListSpace, type LayerSpaceOptionsInput } from './layers/index.js';
import { type SelfAdaptiveOptionsInput, SelfAdaptiveSpace } from './self-adaptive.js';
import type { SearchSpace } from './space.js';
import { type DescribedIssue, OptionsError } from '../util/unknown-keys.js';

export const SPACE_NAMES = ['genome', 'layers', 'cells', 'cnn', 'grammar'] as const;
export type SpaceName = (typeof SPACE_NAMES)[number];

/** A space as a configuration names it. */
export interface SpaceSpec {
  readonly name: string;
  /** The space's own options (each space validates them). */
  readonly options?: Readonly<Record<string, unknown>> | undefined;
  /** Grammar file, for the `grammar` space. */
  readonly grammar?: string | undefined;
  /**
   * Self-adaptive mutation (src/space/self-adaptive.ts): each genome carries its own mutation
   * rate. `true` or its options (validated there) wrap the space; absent or `false` leave it.
   */
  readonly selfAdaptive?: boolean | Readonly<Record<string, unknown>> | undefined;
}

export class SpaceError extends Error {
  /**
   * @param issues where the problem is an option, each issue at its path inside the space's
   *   spec (`options.filtres`, `selfAdaptive.minRate`), so a configuration can name the full path
   */
  constructor(
    message: string,
    readonly issues: readonly DescribedIssue[] = [],
  ) {
    super(message);
    this.name = 'SpaceError';
  }
}

/** The option issues of `error` (an {@link OptionsError}) under `key` of the space spec. */
function optionIssues(error: unknown, key: string): DescribedIssue[] {
  if (!(error instanceof OptionsError)) return [];
  return error.issues.map((issue) => ({ path: [key, ...issue.path], message: issue.message }));
}

/** `genome`, `layers`, `cells`, `cnn`, or `grammar:path.yaml` as the command line writes a space. */
export function parseSpaceArgument(text: string): { name: string; grammar?: string } {
  const colon = text.indexOf(':');
  if (colon < 0) return { name: text };
  const name = text.slice(0, colon);
  const grammar = text.slice(colon + 1);
  if (name !== 'grammar' || grammar.length === 0)
    throw new SpaceError(
      `invalid space ${JSON.stringify(text)}: write ${SPACE_NAMES.join(', ')} or grammar:path.yaml`,
    );
  return { name, grammar };
}

/** Builds the named space; throws a {@link SpaceError} naming the problem. */
export function createSpace(spec: SpaceSpec): SearchSpace<unknown> {
  const space = createInnerSpace(spec);
  const selfAdaptive = spec.selfAdaptive;
  if (selfAdaptive === undefined || selfAdaptive === false) return space;
  try {
    return new SelfAdaptiveSpace(
      space,
      selfAdaptive === true ? {} : (selfAdaptive as SelfAdaptiveOptionsInput),
    ) as SearchSpace<unknown>;
  } catch (error) {
    throw new SpaceError(
      `${spec.name} space, selfAdaptive: ${error instanceof Error ? error.message : String(error)}`,
      optionIssues(error, 'selfAdaptive'),
    );
  }
}

function createInnerSpace(spec: SpaceSpec): SearchSpace<unknown> {
  const options = spec.options ?? {};
  try {
    switch (spec.name) {
      case 'genome':
        return new GenomeSpace(options) as SearchSpace<unknown>;
      case 'layers':
        return new LayerListSpace(options as LayerSpaceOptionsInput) as SearchSpace<unknown>;
      case 'grammar':
        if (!spec.grammar)
          throw new SpaceError(
            'the grammar space needs a grammar file: --space grammar:path.yaml (e.g. grammars/mlp.yaml)',
          );
        return new GrammarSpace(loadGrammarFile(spec.grammar), options) as SearchSpace<unknown>;
      case 'cells':
        return new CellSpace(options) as SearchSpace<unknown>;
      case 'cnn':
        return new CnnSpace(options as CnnSpaceOptionsInput) as SearchSpace<unknown>;
      default:
        throw new SpaceError(
          `unknown search space ${JSON.stringify(spec.name)}; known spaces: ${SPACE_NAMES.join(', ')}`,
        );
    }
  } catch (error) {
    if (error instanceof SpaceError) throw error;
    throw new SpaceError(
      `${spec.name} space: ${error instanceof Error ? error.message : String(error)}`,
      optionIssues(error, 'options'),
    );
  }
}
