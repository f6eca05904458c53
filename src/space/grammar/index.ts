/** User grammars in YAML, decoded by grammatical evolution (format: docs/grammars.md). */
export { loadGrammarFile, parseGrammar } from './grammar-file.js';
export {
  FLOAT_STEPS,
  type Grammar,
  GrammarError,
  LAYER_PARAMS,
  LAYER_TYPES,
  type LayerType,
} from './grammar.js';
export {
  DEFAULT_GRAMMAR_SPACE,
  GRAMMAR_SPACE_NAME,
  type GrammarGenome,
  GrammarSpace,
  type GrammarSpaceOptions,
  grammarSpaceFieldsSchema,
  grammarSpaceOptionsSchema,
} from './grammar-space.js';
export { type Mapping, type MappingLimits, deriveCodons, mapGenome } from './mapper.js';
export { type Layer, compileLayers, formatLayers, parseLayers } from './phenotype.js';
