// Synthetic layers for tests and benchmarks, with the two properties that separate the methods:
// a compression error ΔW with a controllable spectrum, and anisotropic, correlated activations
// (a few outlier channels, shared factors) — the regime where weighting by C matters.
import { choleskyQR2 } from '../linalg/cholesky-qr.js';
import { gram, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import type { LayerInput } from './decomposition.js';

export interface RandomLayerSpec {
  out: number;
  in: number;
  /** N calibration tokens; N < in makes C rank-deficient. */
  tokens: number;
  seed: number;
  /** ΔW's singular values are errorScale·errorDecayⁱ (default 1: flat, like rounding noise). */
  errorDecay?: number;
  /** σ₁ of ΔW (default 0.05; W's singular values are O(1): entries ~ 1/√in). */
  errorScale?: number;
  /** log-normal spread of channel scales (default 1: a few channels ~10× the typical one). */
  channelSpread?: number;
  /** Shared latent factors among channels (default 8). */
  factors?: number;
}

export interface RandomLayer extends LayerInput {
  /** [tokens, in] the calibration inputs, one token a row; C = Xᵀ·X. */
  X: Matrix;
  dW: Matrix;
}

export function randomLayer(spec: RandomLayerSpec): RandomLayer {
  const { out, in: inDim, tokens, seed, errorDecay = 1, errorScale = 0.05, channelSpread = 1, factors = 8 } = spec;
  const random = rng(seed);
  const gaussian = (rows: number, cols: number, scale = 1) => {
    const m = zeros(rows, cols);
    for (let i = 0; i < m.data.length; i++) m.data[i] = scale * random.normal();
    return m;
  };
  const W = gaussian(out, inDim, 1 / Math.sqrt(inDim));
  // ΔW = P·diag(s)·Qᵀ with orthonormal P: [out, m], Q: [in, m] — an exactly known spectrum.
  const m = Math.min(out, inDim);
  const P = choleskyQR2(gaussian(out, m)).Q;
  const Q = choleskyQR2(gaussian(inDim, m)).Q;
  const dW = zeros(out, inDim);
  for (let k = 0; k < m; k++) {
    const s = errorScale * errorDecay ** k;
    for (let i = 0; i < out; i++) {
      const ps = P.data[i * m + k] * s;
      if (ps === 0) continue;
      for (let j = 0; j < inDim; j++) dW.data[i * inDim + j] += ps * Q.data[j * m + k];
    }
  }
  const Wc = zeros(out, inDim);
  for (let i = 0; i < Wc.data.length; i++) Wc.data[i] = W.data[i] - dW.data[i];
  // x_t = d ⊙ (z_t + Gᵀ·f_t): channel scales d, q shared factors with loadings G: [q, in].
  const d = Float64Array.from({ length: inDim }, () => Math.exp(channelSpread * random.normal()));
  const G = gaussian(factors, inDim);
  const X = zeros(tokens, inDim);
  for (let t = 0; t < tokens; t++) {
    const f = Array.from({ length: factors }, () => random.normal());
    for (let j = 0; j < inDim; j++) {
      let v = random.normal();
      for (let q = 0; q < factors; q++) v += f[q] * G.data[q * inDim + j];
      X.data[t * inDim + j] = d[j] * v;
    }
  }
  return { W, Wc, C: gram(X), X, dW };
}
