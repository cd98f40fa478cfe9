// Aitken's estimate of what a geometrically converging sequence has left to move, for steps of
// unequal length. Ritz values and their prefix sums rise like θ(s) = λ − a·x^s in the size s of
// the space (columns for block Krylov; evenly spaced steps in general). Two successive changes
//     δ' = θ(s₁) − θ(s₀) = a·x^{s₀}·(1 − x^{h'}),   δ = θ(s₂) − θ(s₁) = a·x^{s₀}·x^{h'}·(1 − x^h)
// (h' = s₁ − s₀, h = s₂ − s₁) fix x through q = δ/δ' = x^{h'}·(1 − x^h)/(1 − x^{h'}), and the
// remaining gap λ − θ(s₂) = a·x^{s₂} = δ·x^h/(1 − x^h). Equal steps give the textbook ρ = q,
// gap = δ·ρ/(1 − ρ). Growing steps (block-krylov.ts tests at sizes ×1.2 apart) need the solve:
// the bare ratio q exceeds 1 whenever x^{h'} > 1/1.2-ish — every slowly converging tail — and
// would read as "not converging" forever.

/**
 * λ − θ after the last step, from its change δ over h columns and the change before, δ' over h'
 * columns; Infinity when the changes do not shrink like one geometric rate (q ≥ h/h', the
 * limit of q as x → 1).
 */
export function geometricGap(delta: number, before: number, h: number, hBefore: number): number {
  const x = perColumnRate(delta, before, h, hBefore);
  if (x === undefined) return Infinity;
  const xh = x ** h;
  return (delta * xh) / (1 - xh);
}

/**
 * The per-column rate x in [0, 1) of θ(s) = λ − a·x^s fitted to the last two changes (as in
 * geometricGap), or undefined when none fits.
 */
export function perColumnRate(delta: number, before: number, h: number, hBefore: number): number | undefined {
  if (!(delta >= 0 && before > 0 && h > 0 && hBefore > 0)) return undefined;
  const q = delta / before;
  if (h === hBefore) return q < 1 ? q ** (1 / h) : undefined;
  if (q >= h / hBefore) return undefined;
  return solveRate(q, h, hBefore);
}

/**
 * Columns more until a gap shrinking by x per column is ≤ target: log(target/gap)/log(x);
 * 0 if it already is, Infinity without a rate.
 */
export function columnsUntil(gap: number, target: number, x: number | undefined): number {
  if (gap <= target) return 0;
  if (x === undefined || !(x < 1) || !(target > 0)) return Infinity;
  return x === 0 ? 1 : Math.log(target / gap) / Math.log(x);
}

/**
 * The x in (0, 1) with x^{h'}·(1 − x^h)/(1 − x^{h'}) = q, by bisection (the left side rises
 * from 0 at x = 0 to h/h' at x = 1).
 */
function solveRate(q: number, h: number, hBefore: number): number {
  const ratio = (x: number) => (x ** hBefore * (1 - x ** h)) / (1 - x ** hBefore);
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 60; i++) {
    const mid = 0.5 * (lo + hi);
    if (ratio(mid) < q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
