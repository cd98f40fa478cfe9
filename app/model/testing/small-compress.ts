// The small compress run the stage, module and export tests share on the bundled
// TinyStories-656K: 16 calibration windows of 64 tokens (seed 0, sequential activations),
// held-out perplexity on the bundled validation text. A plain object, so export/ tests (below
// experiment/ in the layering) can use it too; callers set quant and the evaluation size.
import { resourcesPath } from '../open.js';

export function smallCompressOptions(out: string, quant: string, evalTokens: number) {
  return {
    quant,
    prune: 'none',
    calibFile: resourcesPath('data', 'tinystories', 'calibration.txt'),
    samples: 16,
    seqLen: 64,
    seed: 0,
    activations: 'sequential' as const,
    evalTokens,
    evalFile: resourcesPath('data', 'tinystories', 'validation.txt'),
    device: 'cpu' as const,
    out,
  };
}
