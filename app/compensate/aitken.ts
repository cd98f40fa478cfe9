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
  if (!(delta >= 0 && before > 0 && h > 0 && hBefore > 0)) return Infinity;
  const q = delta / before;
  if (h === hBefore) return q < 1 ? (delta * q) / (1 - q) : Infinity;
  if (q >= h / hBefore) return Infinity;
  const xh = stepFactor(q, h, hBefore);
  return (delta * xh) / (1 - xh);
}

/**
 * x^h for the x in (0, 1) with x^{h'}·(1 − x^h)/(1 − x^{h'}) = q, by bisection (the left side
 * rises from 0 at x = 0 to h/h' at x = 1).
 */
function stepFactor(q: number, h: number, hBefore: number): number {
  const ratio = (x: number) => (x ** hBefore * (1 - x ** h)) / (1 - x ** hBefore);
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 60; i++) {
    const mid = 0.5 * (lo + hi);
    if (ratio(mid) < q) lo = mid;
    else hi = mid;
  }
  return (0.5 * (lo + hi)) ** h;
}
