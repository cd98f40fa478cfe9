// Float64 references for tests and verification, written independently of basis.ts:
// a one-sided Jacobi SVD (Hestenes 1958: rotate column pairs until orthogonal — no Gram
// matrix, so small singular values keep full relative accuracy) and EoRA's construction
// exactly as published (eigen of C, SVD of ΔW·Q·Λ^½, A = V_rᵀ·Λ^-½·Qᵀ).
import { symmetricEigen } from '../linalg/eigen.js';
import { matmul, transpose, zeros, type Matrix } from '../linalg/matrix.js';

/** One-sided Jacobi SVD (Hestenes): a: [m, n] = U·diag(s)·Vᵀ, s descending, U: [m, p], V: [n, p], p = min(m, n). */
export function jacobiSvd(a: Matrix): { U: Matrix; s: Float64Array; V: Matrix } {
  if (a.rows < a.cols) {
    const t = jacobiSvd(transpose(a));
    return { U: t.V, s: t.s, V: t.U };
  }
  const { rows: m, cols: n } = a;
  const G = a.data.slice(); // columns are rotated until mutually orthogonal: G = U·Σ
  const V = zeros(n, n);
  for (let i = 0; i < n; i++) V.data[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = G[i * n + p];
          const y = G[i * n + q];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const M of [{ d: G, rows: m }, { d: V.data, rows: n }])
          for (let i = 0; i < M.rows; i++) {
            const x = M.d[i * n + p];
            const y = M.d[i * n + q];
            M.d[i * n + p] = c * x - s * y;
            M.d[i * n + q] = s * x + c * y;
          }
      }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => Math.hypot(...Array.from({ length: m }, (_, i) => G[i * n + j])));
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const U = zeros(m, n);
  const Vs = zeros(n, n);
  order.forEach((j, k) => {
    for (let i = 0; i < m; i++) U.data[i * n + k] = norms[j] > 0 ? G[i * n + j] / norms[j] : 0;
    for (let i = 0; i < n; i++) Vs.data[i * n + k] = V.data[i * n + j];
  });
  return { U, s: Float64Array.from(order, (j) => norms[j]), V: Vs };
}

/** The published EoRA adapter, in float64: B = U_r·Σ_r, A = V_rᵀ·Λ^-½·Qᵀ (λ ≤ floor → 0), for any r. */
export function publishedEora(dW: Matrix, C: Matrix, floor = 0) {
  const { values: lambda, vectors: Q } = symmetricEigen(C);
  const n = C.rows;
  const QL = zeros(n, n); // Q·Λ^½
  const QLinv = zeros(n, n); // Q·Λ^-½
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const l = Math.max(lambda[j], 0);
      QL.data[i * n + j] = Q.data[i * n + j] * Math.sqrt(l);
      QLinv.data[i * n + j] = l > floor ? Q.data[i * n + j] / Math.sqrt(l) : 0;
    }
  const { U, s, V } = jacobiSvd(matmul(dW, QL)); // ΔW' = ΔW·Q·Λ^½
  return (r: number) => {
    const B = zeros(dW.rows, r); // U_r·Σ_r: [out, r]
    for (let i = 0; i < dW.rows; i++) for (let j = 0; j < r; j++) B.data[i * r + j] = U.data[i * U.cols + j] * s[j];
    const Vr = zeros(n, r);
    for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) Vr.data[i * r + j] = V.data[i * V.cols + j];
    const A = transpose(matmul(QLinv, Vr)); // V_rᵀ·Λ^-½·Qᵀ: [r, in]
    return { B, A, BA: matmul(B, A) };
  };
}
