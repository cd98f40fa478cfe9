// Round-to-nearest: each weight snapped to its (row, group) grid independently. The baseline
// GPTQ is measured against; needs no calibration data.
import { GroupQuantizer, dequantize } from './quantizer.js';
import { checkLinear, type CompressResult, type LinearWeight, type QuantConfig } from './types.js';

export function rtn(layer: LinearWeight, config: QuantConfig): CompressResult {
  checkLinear(layer);
  const { w, out } = layer;
  const n = layer.in;
  const quantizer = new GroupQuantizer(config, out, n);
  const g = config.groupSize === -1 ? n : config.groupSize; // columns per group

  for (let group = 0; group < quantizer.nGroups; group++) {
    const c0 = group * g;
    quantizer.fit(group, w, n, c0, c0 + g);
    for (let r = 0; r < out; r++) {
      for (let c = c0; c < c0 + g; c++) quantizer.quantizeAt(r, c, group, w[r * n + c]);
    }
  }
  const quant = quantizer.state();
  return { wc: dequantize(quant, out, n), out, in: n, quant };
}
