// The rotary tables the block graph takes as inputs besides the weights.
// Computed in float64 once, rounded to float32, and handed out as views (no per-call copies).
import type { RopeScaling } from '../model/types.js';

/**
 * inv_freq[i] = θ^(−2i/hd), i < hd/2, rescaled as HF's ROPE_INIT_FUNCTIONS do:
 * `linear` divides all by factor; `llama3` keeps wavelengths shorter than
 * original_max / high_freq_factor, divides those longer than original_max / low_freq_factor
 * by factor, and blends linearly in wavelength-inverse between the two.
 */
export function inverseFrequencies(headDim: number, theta: number, scaling?: RopeScaling | null): Float64Array {
  const half = headDim / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  if (!scaling) return inv;
  if (scaling.kind === 'linear') return inv.map((f) => f / scaling.factor);
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original } = scaling;
  const lowWavelen = original / low; // longer wavelengths than this: fully scaled
  const highWavelen = original / high; // shorter than this: untouched
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (original / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * HF LlamaRotaryEmbedding: angle(t, i) = t · inv_freq[i mod hd/2] (emb = cat(freqs, freqs)).
 * Rows are positions: the table for T positions is a prefix, the table for positions
 * P..P+T−1 a contiguous slice. (HF's attention_scaling is 1 for linear and llama3.)
 */
export class RopeTables {
  private cos = new Float32Array(0); // [rows, hd]
  private sin = new Float32Array(0);
  private rows = 0;
  private readonly invFreq: Float64Array; // [hd/2]

  constructor(
    readonly headDim: number,
    readonly theta: number,
    scaling?: RopeScaling | null,
  ) {
    this.invFreq = inverseFrequencies(headDim, theta, scaling);
  }

  /** cos, sin [T, hd] for positions start..start+T−1. */
  get(T: number, start = 0): { cos: Float32Array; sin: Float32Array } {
    if (start + T > this.rows) this.grow(Math.max(start + T, 2 * this.rows));
    const hd = this.headDim;
    return { cos: this.cos.subarray(start * hd, (start + T) * hd), sin: this.sin.subarray(start * hd, (start + T) * hd) };
  }

  private grow(rows: number) {
    const hd = this.headDim;
    const half = hd / 2;
    this.cos = new Float32Array(rows * hd);
    this.sin = new Float32Array(rows * hd);
    for (let t = 0; t < rows; t++) {
      for (let i = 0; i < hd; i++) {
        const angle = t * this.invFreq[i % half];
        this.cos[t * hd + i] = Math.cos(angle);
        this.sin[t * hd + i] = Math.sin(angle);
      }
    }
    this.rows = rows;
  }
}
