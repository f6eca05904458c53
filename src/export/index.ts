/** Model files, exporters (ONNX, PyTorch) and image decoding for prediction. */
export {
  MODEL_FORMAT,
  ModelFileError,
  UNIT_SCALE,
  buildNetwork,
  classNames,
  decodeModelFile,
  loadNetwork,
  readModelFile,
  trainingNormalisation,
  writeModelFile,
} from './model-file.js';
export type { ModelFile, ModelFileInput, ModelMetadata, PixelNormalisation } from './model-file.js';
export {
  ONNX_INPUT,
  ONNX_MAX_OPSET,
  ONNX_MIN_OPSET,
  ONNX_OPSET,
  ONNX_OUTPUT,
  architectureToOnnx,
} from './onnx.js';
export type { OnnxOptions } from './onnx.js';
export { architectureToPytorch, writePytorchExport } from './pytorch.js';
export type { PytorchExport, PytorchOptions } from './pytorch.js';
export { SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
export type { SafetensorsContents } from './safetensors.js';
export { checkedWeights, expectedWeightShapes, weightProblems } from './weights.js';
export { IMAGE_EXTENSIONS, ImageFileError, decodeImage, readImage } from './images.js';
export type { DecodedImage } from './images.js';
