// Dense float64 matrices, row-major. The small-and-exact side of the engine's linear algebra:
// k×k problems (k ≤ a few hundred) and test references. Large products belong in onnxruntime.

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major: element (i, j) at data[i * cols + j]. */
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function identity(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function fromArray(rows: number, cols: number, values: ArrayLike<number>): Matrix {
  if (values.length !== rows * cols) throw new RangeError(`expected ${rows}×${cols} = ${rows * cols} values, got ${values.length}`);
  return { rows, cols, data: Float64Array.from(values) };
}

export function clone(a: Matrix): Matrix {
  return { rows: a.rows, cols: a.cols, data: a.data.slice() };
}

export function transpose(a: Matrix): Matrix {
  const t = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}

/** c: [m, n] = a: [m, k] · b: [k, n]. i-k-j order keeps the inner loop contiguous. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new RangeError(`matmul: [${a.rows}, ${a.cols}] · [${b.rows}, ${b.cols}]`);
  const { rows: m, cols: k } = a;
  const n = b.cols;
  const c = zeros(m, n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a.data[i * k + p];
      if (aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c.data[ci + j] += aip * b.data[bp + j];
    }
  }
  return c;
}

/** aᵀ·a: [cols, cols], symmetric, accumulated in float64. */
export function gram(a: Matrix): Matrix {
  const n = a.cols;
  const g = zeros(n, n);
  for (let r = 0; r < a.rows; r++) {
    const row = r * n;
    for (let i = 0; i < n; i++) {
      const v = a.data[row + i];
      if (v === 0) continue;
      for (let j = i; j < n; j++) g.data[i * n + j] += v * a.data[row + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g.data[i * n + j] = g.data[j * n + i];
  return g;
}

export function trace(a: Matrix): number {
  let t = 0;
  for (let i = 0; i < Math.min(a.rows, a.cols); i++) t += a.data[i * a.cols + i];
  return t;
}

export function frobeniusSquared(a: Matrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return s;
}

export function subtract(a: Matrix, b: Matrix): Matrix {
  assertSameShape(a, b, 'subtract');
  const c = zeros(a.rows, a.cols);
  for (let i = 0; i < c.data.length; i++) c.data[i] = a.data[i] - b.data[i];
  return c;
}

export function assertSameShape(a: Matrix, b: Matrix, what: string) {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`${what}: [${a.rows}, ${a.cols}] vs [${b.rows}, ${b.cols}]`);
}

/** Max |a - b| / max |b|: the relative error used by the tests. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

/**
 * √(a² + b²) without Math.hypot's cost (42 ns against 9 ns in V8 — the QL sweeps and Givens
 * rotations call it O(n²) times per eigenproblem); Math.hypot only where a² + b² would
 * overflow or underflow.
 */
export function hypot(a: number, b: number): number {
  const s = a * a + b * b;
  return s > 1e-290 && s < 1e290 ? Math.sqrt(s) : Math.hypot(a, b);
}
