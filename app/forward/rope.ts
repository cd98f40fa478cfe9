// The rotary tables the block graph takes as inputs besides the weights.
// Computed in float64 once, rounded to float32, and handed out as views (no per-call copies).

/**
 * HF LlamaRotaryEmbedding: inv_freq[i] = θ^(−2i/hd); angle(t, i) = t · inv_freq[i mod hd/2]
 * (emb = cat(freqs, freqs)). Rows are positions: the table for T positions is a prefix, the
 * table for positions P..P+T−1 a contiguous slice.
 */
export class RopeTables {
  private cos = new Float32Array(0); // [rows, hd]
  private sin = new Float32Array(0);
  private rows = 0;

  constructor(
    readonly headDim: number,
    readonly theta: number,
  ) {}

  /** cos, sin [T, hd] for positions start..start+T−1. */
  get(T: number, start = 0): { cos: Float32Array; sin: Float32Array } {
    if (start + T > this.rows) this.grow(Math.max(start + T, 2 * this.rows));
    const hd = this.headDim;
    return { cos: this.cos.subarray(start * hd, (start + T) * hd), sin: this.sin.subarray(start * hd, (start + T) * hd) };
  }

  private grow(rows: number) {
    const hd = this.headDim;
    const half = hd / 2;
    const invFreq = Array.from({ length: half }, (_, i) => 1 / this.theta ** ((2 * i) / hd));
    this.cos = new Float32Array(rows * hd);
    this.sin = new Float32Array(rows * hd);
    for (let t = 0; t < rows; t++) {
      for (let i = 0; i < hd; i++) {
        const angle = t * invFreq[i % half];
        this.cos[t * hd + i] = Math.cos(angle);
        this.sin[t * hd + i] = Math.sin(angle);
      }
    }
    this.rows = rows;
  }
}
