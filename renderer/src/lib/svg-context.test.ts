import { describe, expect, it } from 'vitest';
import { SvgContext } from './svg-context.js';

/** A fixed-width font (6 px a character), so the tests need no browser. */
const measure = (text: string) => ({ width: 6 * text.length }) as TextMetrics;
const draw = () => new SvgContext(200, 100, measure);
const body = (ctx: SvgContext) => ctx.toSvg().split('\n').slice(2, -2);
/** Every "x y" pair of a path's d, as numbers. */
const points = (d: string) => [...d.matchAll(/(-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe('SvgContext', () => {
  it('writes a standalone SVG of the canvas size', () => {
    const svg = draw().toSvg();
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('fills rects in picture pixels under translate and scale, with the colour and alpha in force', () => {
    const ctx = draw();
    ctx.setTransform(2, 0, 0, 2, 0, 0); // a 2× device pixel ratio, as chart.js sets it
    ctx.translate(10, 5);
    ctx.fillStyle = 'rgba(0,114,178,0.5)';
    ctx.globalAlpha = 0.25;
    ctx.fillRect(1, 2, 3, 4);
    expect(body(ctx)).toEqual(['<path d="M22 14L28 14L28 22L22 22Z" fill="rgba(0,114,178,0.5)" fill-rule="nonzero" fill-opacity="0.25"/>']);
  });

  it('strokes with width and dashes scaled to picture pixels, and restore brings back the state', () => {
    const ctx = draw();
    ctx.save();
    ctx.scale(2, 2);
    ctx.strokeStyle = '#1f2328';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([2, 1]);
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.lineTo(5, 5);
    ctx.stroke();
    ctx.restore();
    ctx.beginPath();
    ctx.lineTo(1, 1); // lineTo on an empty path starts it, as on a canvas
    ctx.lineTo(2, 1);
    ctx.stroke();
    expect(body(ctx)).toEqual([
      '<path d="M0 0L10 10" fill="none" stroke="#1f2328" stroke-width="3" stroke-linecap="butt" stroke-linejoin="miter" stroke-dasharray="4 2" stroke-dashoffset="0"/>',
      '<path d="M1 1L2 1" fill="none" stroke="#000000" stroke-width="1" stroke-linecap="butt" stroke-linejoin="miter"/>',
    ]);
  });

  it('draws a full circle as two half arcs and a quarter arc with the canvas direction', () => {
    const ctx = draw();
    ctx.beginPath();
    ctx.arc(50, 50, 10, 0, 2 * Math.PI);
    ctx.fill();
    ctx.beginPath();
    ctx.arc(0, 0, 10, 0, Math.PI / 2, true); // counterclockwise: three quarters round
    ctx.stroke();
    const [circle, quarter] = body(ctx);
    expect(circle).toMatch(/^<path d="M60 50A10 10 0 0 1 40 50A10 10 0 0 1 60 50"/);
    expect(quarter).toMatch(/^<path d="M10 0A10 10 0 1 0 0 10"/);
  });

  it('nests clips: a later clip is cut by the earlier one; drawing after restore is unclipped', () => {
    const ctx = draw();
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, 100, 100);
    ctx.clip();
    ctx.beginPath();
    ctx.rect(10, 10, 20, 20);
    ctx.clip();
    ctx.fillRect(0, 0, 5, 5);
    ctx.restore();
    ctx.fillRect(0, 0, 5, 5);
    const svg = ctx.toSvg();
    expect(svg).toContain('<clipPath id="clip0"><path d="M0 0L100 0L100 100L0 100Z"/></clipPath><clipPath id="clip1" clip-path="url(#clip0)">');
    const [inside, after] = body(ctx).slice(1);
    expect(inside).toContain('clip-path="url(#clip1)"');
    expect(after).not.toContain('clip-path');
  });

  it('keeps text real: rotated by its matrix, anchored and escaped; a clip goes on a group, not the rotated text', () => {
    const ctx = draw();
    ctx.translate(40, 60);
    ctx.rotate(-Math.PI / 2);
    ctx.font = "bold 12px 'Helvetica Neue', sans-serif";
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('ppl <A & B>', 0, 0);
    expect(body(ctx)).toEqual([
      `<text transform="matrix(0 -1 1 0 40 60)" x="0" y="0" style="font: bold 12px 'Helvetica Neue', sans-serif" text-anchor="middle" dominant-baseline="central" fill="#000000" xml:space="preserve">ppl &lt;A &amp; B&gt;</text>`,
    ]);
    ctx.beginPath();
    ctx.rect(0, 0, 10, 10);
    ctx.clip();
    ctx.fillText('x', 0, 0);
    expect(body(ctx).at(-1)).toMatch(/^<g clip-path="url\(#clip0\)"><text transform="matrix\(0 -1 1 0 40 60\)"[^>]*>x<\/text><\/g>$/);
    expect(ctx.measureText('abcd').width).toBe(24);
  });

  it('maps points like the composed affine matrix (property, random translate/rotate/scale chains)', () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let trial = 0; trial < 30; trial++) {
      const ctx = draw();
      // Reference: the 3×3 matrix M, composed in float64 as M ← M · T for each step.
      let M = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
      const mul = (A: number[][], B: number[][]) => A.map((row) => B[0].map((_, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));
      for (let step = 0; step < 4; step++) {
        const [kind, p, q] = [Math.floor((rand() + 1) * 1.5), rand() * 20, rand() * 20];
        if (kind === 0) { ctx.translate(p, q); M = mul(M, [[1, 0, p], [0, 1, q], [0, 0, 1]]); }
        else if (kind === 1) { ctx.rotate(p); M = mul(M, [[Math.cos(p), -Math.sin(p), 0], [Math.sin(p), Math.cos(p), 0], [0, 0, 1]]); }
        else { const s = 0.5 + Math.abs(p) / 10; ctx.scale(s, s); M = mul(M, [[s, 0, 0], [0, s, 0], [0, 0, 1]]); }
      }
      const [x, y] = [rand() * 50, rand() * 50];
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.stroke();
      const [[px, py]] = points(body(ctx)[0]);
      expect(px).toBeCloseTo(M[0][0] * x + M[0][1] * y + M[0][2], 1);
      expect(py).toBeCloseTo(M[1][0] * x + M[1][1] * y + M[1][2], 1);
    }
  });
});
