/** The layer-list search space (`--space layers`): genes, repair, text form and operators. */
export {
  GENE_ID_PATTERN,
  LAYER_KINDS,
  LAYER_LIMITS,
  type BatchNormGene,
  type ConvGene,
  type DenseGene,
  type DropoutGene,
  type LayerGene,
  type LayerGenome,
  type LayerKind,
  type PoolGene,
  type SkipGene,
  formatLayer,
} from './genes.js';
export { compileLayers } from './compile.js';
export {
  LAYER_SPACE_NAME,
  LayerListSpace,
  type LayerSpaceOptions,
  type LayerSpaceOptionsInput,
  layerSpaceOptionsSchema,
} from './layers-space.js';
export { LayerSpaceError, type RepairResult, repair } from './repair.js';
export { type SkipPlan, fitSkip } from './shapes.js';
export { formatLayers, formatLayersOneLine, parseLayers } from './text.js';
