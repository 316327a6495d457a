/**
 * `nn-ts/onnx`, ONNX export: a network, its params and its state as a standard `.onnx` model.
 * @since 0.1.0
 */
export * from './export.ts'
