export {
  CNN_SPACE_NAME,
  CnnSpace,
  type CnnSpaceOptions,
  activationValues,
  type CnnSpaceOptionsInput,
  cnnSpaceOptionsSchema,
} from './cnn-space.js';
export { compileCnn, seChannels } from './compile.js';
export {
  BLOCK_KINDS,
  type BlockKind,
  CNN_LIMITS,
  type CnnGenome,
  CnnSpaceError,
  type CnnStage,
  decodeCnn,
  formatCnn,
  parseCnn,
} from './genome.js';
