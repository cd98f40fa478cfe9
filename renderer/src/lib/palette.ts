// Colours that stay apart for colour-blind readers: the Okabe–Ito palette (Okabe & Ito 2008,
// "Color Universal Design"), one hue per method, lighter shades for lower ranks within a
// method, greys for the two references. The old svd brown vs scaled-svd green were ΔE≈3 apart
// under deuteranopia; vermillion, blue and bluish green are not.
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

export const METHOD_COLOURS: Record<string, string> = {
  eora: OKABE_ITO.blue,
  svd: OKABE_ITO.vermillion,
  'scaled-svd': OKABE_ITO.bluishGreen,
  budget: OKABE_ITO.reddishPurple,
};
export const REFERENCE_COLOURS = { original: '#3b3b3b', compressed: '#a0a0a0' } as const;
const OTHER = OKABE_ITO.orange;

/** hex mixed towards white by t ∈ [0, 1]. */
export function tint(hex: string, t: number): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * Math.min(1, Math.max(0, t)));
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1).toUpperCase()}`;
}

export interface Colourable {
  name: string;
  method: string | null;
  rank: number | null;
}

/**
 * A colour per variant: references in grey, a hue per method (budget-allocated variants in
 * their own hue), and within a method the highest rank darkest, lower ranks up to 50 % lighter.
 */
export function variantColours(variants: readonly Colourable[]): Record<string, string> {
  const hueKey = (v: Colourable) => (v.name.includes('budget') || (v.rank === null && v.method !== null && !['original', 'compressed'].includes(v.name)) ? 'budget' : (v.method ?? ''));
  const out: Record<string, string> = {};
  const groups = new Map<string, Colourable[]>();
  for (const v of variants) {
    if (v.name === 'original' || v.name === 'compressed') {
      out[v.name] = REFERENCE_COLOURS[v.name];
      continue;
    }
    const key = hueKey(v);
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  for (const [key, members] of groups) {
    const sorted = [...members].sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity));
    sorted.forEach((v, i) => {
      const t = sorted.length === 1 ? 0 : 0.5 * (1 - i / (sorted.length - 1));
      out[v.name] = tint(METHOD_COLOURS[key] ?? OTHER, t);
    });
  }
  return out;
}

/** Relative luminance contrast is not enough for colour-blind readers; this is the sRGB → CIELAB ΔE76 used in the tests. */
export function deltaE(a: string, b: string): number {
  const lab = (hex: string) => {
    const n = parseInt(hex.slice(1), 16);
    const lin = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
      const s = c / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    const [x, y, z] = [
      (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047,
      0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2],
      (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883,
    ];
    const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
    return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
  };
  const [p, q] = [lab(a), lab(b)];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/** Deuteranopia simulation (Machado et al. 2009, severity 1) of an sRGB hex colour. */
export function deuteranopia(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const lin = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const m = [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ];
  const out = m.map((row) => Math.min(1, Math.max(0, row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2])));
  const enc = out.map((v) => Math.round(255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055)));
  return `#${((1 << 24) | (enc[0] << 16) | (enc[1] << 8) | enc[2]).toString(16).slice(1)}`;
}
