// Compression of one linear layer by method spec: the entry point for architecture drivers.
//
//   const spec = parseMethod('gptq:w4g128');
//   const result = compressLinear(spec, { w, out, in }, { C, nTokens });
//   const metrics = linearMetrics({ w, out, in }, result, { C, nTokens });
//
// Linears that share an input (q/k/v, gate/up) can share one prepareHessian() through
// gptqWithHessian / sparsegptWithHessian; compressLinear prepares it per call.
import { gptq } from './gptq.js';
import { magnitude } from './magnitude.js';
import { rtn } from './rtn.js';
import { sparsegpt } from './sparsegpt.js';
import { parseMethod, type MethodName, type MethodSpec } from './spec.js';
import { checkLinear, checkMoment, type CompressResult, type LinearWeight, type SecondMoment } from './types.js';
import { wanda } from './wanda.js';

export interface MethodInfo {
  needsCalibration: boolean;
  kind: 'none' | 'quantize' | 'prune';
  summary: string;
}

export const METHODS: Record<MethodName, MethodInfo> = {
  none: { needsCalibration: false, kind: 'none', summary: 'the original weight' },
  rtn: { needsCalibration: false, kind: 'quantize', summary: 'round to nearest, per channel or per group' },
  gptq: { needsCalibration: true, kind: 'quantize', summary: 'GPTQ: quantize column by column, compensating through H⁻¹' },
  magnitude: { needsCalibration: false, kind: 'prune', summary: 'drop the smallest |W| (layer-wide, or per N:M window)' },
  wanda: { needsCalibration: true, kind: 'prune', summary: 'drop the smallest |W|·‖X‖ per output row' },
  sparsegpt: { needsCalibration: true, kind: 'prune', summary: 'SparseGPT: OBS pruning with weight updates; +wNgM also quantizes' },
};

export function compressLinear(spec: MethodSpec | string, layer: LinearWeight, moment?: SecondMoment): CompressResult {
  const s = typeof spec === 'string' ? parseMethod(spec) : spec;
  checkLinear(layer);
  const calibration = () => checkMoment(moment, layer.in, s.method);
  switch (s.method) {
    case 'none':
      return { wc: layer.w.slice(), out: layer.out, in: layer.in };
    case 'rtn':
      return rtn(layer, s.quant);
    case 'gptq':
      return gptq(layer, calibration(), { ...s.quant, actOrder: s.actOrder, staticGroups: s.staticGroups, percdamp: s.percdamp, blockSize: s.blockSize });
    case 'magnitude':
      return magnitude(layer, s.sparsity);
    case 'wanda':
      return wanda(layer, calibration(), s.sparsity);
    case 'sparsegpt':
      return sparsegpt(layer, calibration(), { sparsity: s.sparsity, quant: s.quant, percdamp: s.percdamp, blockSize: s.blockSize });
  }
}

export { parseMethod, formatMethod, METHOD_NAMES, type MethodName, type MethodSpec } from './spec.js';
export { CompressError, type CompressResult, type LinearWeight, type QuantConfig, type QuantState, type SecondMoment, type Sparsity } from './types.js';
export { dequantize } from './quantizer.js';
export { addToMoment, prepareHessian, type HessianOptions, type InverseFactor, type PreparedHessian } from './hessian.js';
export { gptq, gptqSteps, gptqWithHessian, type GptqOptions } from './gptq.js';
export { sparsegpt, sparsegptSteps, sparsegptWithHessian, type SparseGptOptions } from './sparsegpt.js';
export { runSweep, type Sweep } from './sweep.js';
export { rtn } from './rtn.js';
export { magnitude } from './magnitude.js';
export { wanda } from './wanda.js';
export { linearMetrics, type LinearMetrics } from './metrics.js';
