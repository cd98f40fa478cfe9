// A drawing context that writes SVG instead of pixels: the part of CanvasRenderingContext2D that
// chart.js draws with (paths, rects, arcs, curves, text, clip, save/restore, transforms, dashes).
// Chart.svelte hands it to a second, off-screen chart to export a vector picture, so no
// canvas-to-SVG library is needed. Coordinates are transformed when recorded, so every element
// is in the picture's own pixels; text keeps its transform (rotated tick labels).

type Matrix = [a: number, b: number, c: number, d: number, e: number, f: number];

/** What save() keeps and restore() brings back, as on a canvas. */
const STATE_KEYS = ['fillStyle', 'strokeStyle', 'lineWidth', 'lineCap', 'lineJoin', 'lineDash', 'lineDashOffset', 'globalAlpha', 'font', 'textAlign', 'textBaseline', 'matrix', 'clipId'] as const;
type State = Pick<SvgContext, (typeof STATE_KEYS)[number]>;

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];
const ANCHOR: Record<CanvasTextAlign, string> = { left: 'start', start: 'start', center: 'middle', right: 'end', end: 'end' };
const BASELINE: Record<CanvasTextBaseline, string> = { top: 'text-before-edge', hanging: 'hanging', middle: 'central', alphabetic: 'alphabetic', ideographic: 'ideographic', bottom: 'text-after-edge' };

/** Text as SVG character data / attribute value. */
export const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** An SVG paint for a canvas style: colours pass; gradients and patterns (unused by our charts) become none. */
const svgPaint = (style: unknown) => (typeof style === 'string' ? escapeXml(style) : 'none');
const num = (x: number) => String(Math.round(x * 100) / 100);

/** Measures text in a font; the browser's canvas by default. */
export type TextMeasure = (text: string, font: string) => TextMetrics;

function canvasMeasure(): TextMeasure {
  const ctx = document.createElement('canvas').getContext('2d')!;
  return (text, font) => {
    ctx.font = font;
    return ctx.measureText(text);
  };
}

export class SvgContext {
  /** The object chart.js reads sizes from and writes sizes to (chart.canvas). */
  readonly canvas: { width: number; height: number; style: Record<string, string>; getContext: () => SvgContext };
  private stack: State[] = [];
  private path: string[] = [];
  private body: string[] = [];
  private defs: string[] = [];
  private readonly measure: TextMeasure;

  constructor(width: number, height: number, measure?: TextMeasure) {
    this.canvas = { width, height, style: {}, getContext: () => this };
    this.measure = measure ?? canvasMeasure();
  }

  // --- state (the canvas's defaults) -------------------------------------------------------
  fillStyle = '#000000';
  strokeStyle = '#000000';
  lineWidth = 1;
  lineCap: CanvasLineCap = 'butt';
  lineJoin: CanvasLineJoin = 'miter';
  lineDash: number[] = [];
  lineDashOffset = 0;
  globalAlpha = 1;
  font = '10px sans-serif';
  textAlign: CanvasTextAlign = 'start';
  textBaseline: CanvasTextBaseline = 'alphabetic';
  /** Compositing has no SVG equivalent here; the background plugin paints first anyway. */
  globalCompositeOperation: GlobalCompositeOperation = 'source-over';
  /** The current transform [a b c d e f], user space → picture pixels. */
  matrix: Matrix = IDENTITY;
  /** id of the clipPath in force, '' for none. */
  clipId = '';

  save() { this.stack.push(Object.fromEntries(STATE_KEYS.map((k) => [k, k === 'lineDash' ? [...this.lineDash] : this[k]])) as State); }
  restore() { Object.assign(this, this.stack.pop()); }
  setLineDash(segments: number[]) { this.lineDash = [...segments]; }
  getLineDash() { return [...this.lineDash]; }

  // --- transforms: m' = m · t ----------------------------------------------------------------
  setTransform(a: number, b: number, c: number, d: number, e: number, f: number) { this.matrix = [a, b, c, d, e, f]; }
  resetTransform() { this.matrix = IDENTITY; }
  transform(a: number, b: number, c: number, d: number, e: number, f: number) {
    const [A, B, C, D, E, F] = this.matrix;
    this.matrix = [A * a + C * b, B * a + D * b, A * c + C * d, B * c + D * d, A * e + C * f + E, B * e + D * f + F];
  }
  translate(x: number, y: number) { this.transform(1, 0, 0, 1, x, y); }
  scale(x: number, y: number) { this.transform(x, 0, 0, y, 0, 0); }
  rotate(angle: number) { this.transform(Math.cos(angle), Math.sin(angle), -Math.sin(angle), Math.cos(angle), 0, 0); }

  /** A user-space point in picture pixels. */
  private at(x: number, y: number): string {
    const [a, b, c, d, e, f] = this.matrix;
    return `${num(a * x + c * y + e)} ${num(b * x + d * y + f)}`;
  }
  /** Lengths scale by √|det|: chart.js only rotates, translates and scales uniformly. */
  private get unit() {
    const [a, b, c, d] = this.matrix;
    return Math.sqrt(Math.abs(a * d - b * c));
  }

  // --- paths -------------------------------------------------------------------------------
  beginPath() { this.path = []; }
  closePath() { this.path.push('Z'); }
  moveTo(x: number, y: number) { this.path.push(`M${this.at(x, y)}`); }
  lineTo(x: number, y: number) { this.path.push(`${this.path.length ? 'L' : 'M'}${this.at(x, y)}`); }
  quadraticCurveTo(cx: number, cy: number, x: number, y: number) { this.path.push(`Q${this.at(cx, cy)} ${this.at(x, y)}`); }
  bezierCurveTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number) { this.path.push(`C${this.at(c1x, c1y)} ${this.at(c2x, c2y)} ${this.at(x, y)}`); }
  rect(x: number, y: number, w: number, h: number) { this.path.push(`M${this.at(x, y)}L${this.at(x + w, y)}L${this.at(x + w, y + h)}L${this.at(x, y + h)}Z`); }

  /** Canvas arc: a line from the current point to the start, then the arc (a full circle as two halves). */
  arc(x: number, y: number, r: number, start: number, end: number, counterclockwise = false) {
    const full = 2 * Math.PI;
    const asked = counterclockwise ? start - end : end - start;
    const sweep = asked >= full ? full : ((asked % full) + full) % full; // the canvas rule
    const point = (t: number) => this.at(x + r * Math.cos(t), y + r * Math.sin(t));
    const dir = counterclockwise ? -1 : 1;
    const radius = num(r * this.unit);
    const flag = (this.matrix[0] * this.matrix[3] - this.matrix[1] * this.matrix[2] < 0 ? !counterclockwise : counterclockwise) ? 0 : 1;
    this.path.push(`${this.path.length ? 'L' : 'M'}${point(start)}`);
    const halves = sweep === full ? [start + dir * Math.PI, start + dir * full] : [start + dir * sweep];
    let from = start;
    for (const to of halves) {
      const large = Math.abs(to - from) > Math.PI ? 1 : 0;
      this.path.push(`A${radius} ${radius} 0 ${large} ${flag} ${point(to)}`);
      from = to;
    }
  }
  /** chart.js draws ellipses only for rotated point styles: a circle of the mean radius is close. */
  ellipse(x: number, y: number, rx: number, ry: number, _rotation: number, start: number, end: number, ccw = false) { this.arc(x, y, (rx + ry) / 2, start, end, ccw); }

  private clipAttr() { return this.clipId ? ` clip-path="url(#${this.clipId})"` : ''; }
  private alphaAttr(kind: 'fill' | 'stroke') { return this.globalAlpha < 1 ? ` ${kind}-opacity="${num(this.globalAlpha)}"` : ''; }
  private strokeAttrs() {
    const s = this;
    const dash = s.lineDash.length ? ` stroke-dasharray="${s.lineDash.map((d) => num(d * this.unit)).join(' ')}" stroke-dashoffset="${num(s.lineDashOffset * this.unit)}"` : '';
    return `fill="none" stroke="${svgPaint(s.strokeStyle)}" stroke-width="${num(s.lineWidth * this.unit)}" stroke-linecap="${s.lineCap}" stroke-linejoin="${s.lineJoin}"${dash}${this.alphaAttr('stroke')}`;
  }

  fill(rule: CanvasFillRule = 'nonzero') {
    if (this.path.length) this.body.push(`<path d="${this.path.join('')}" fill="${svgPaint(this.fillStyle)}" fill-rule="${rule}"${this.alphaAttr('fill')}${this.clipAttr()}/>`);
  }
  stroke() {
    if (this.path.length) this.body.push(`<path d="${this.path.join('')}" ${this.strokeAttrs()}${this.clipAttr()}/>`);
  }
  /** Later drawing is cut to the current path, inside any clip already in force. */
  clip() {
    const id = `clip${this.defs.length}`;
    this.defs.push(`<clipPath id="${id}"${this.clipAttr()}><path d="${this.path.join('')}"/></clipPath>`);
    this.clipId = id;
  }
  /** fillRect / strokeRect: a rect painted without touching the current path. */
  private paintRect(x: number, y: number, w: number, h: number, paint: 'fill' | 'stroke') {
    const saved = this.path;
    this.path = [];
    this.rect(x, y, w, h);
    this[paint]();
    this.path = saved;
  }
  fillRect(x: number, y: number, w: number, h: number) { this.paintRect(x, y, w, h, 'fill'); }
  strokeRect(x: number, y: number, w: number, h: number) { this.paintRect(x, y, w, h, 'stroke'); }
  /** The picture starts empty; clearing it again only drops what was drawn. */
  clearRect() {}
  /** Images (none in our charts) are left out rather than rasterized into the vector file. */
  drawImage() {}

  // --- text --------------------------------------------------------------------------------
  measureText(text: string): TextMetrics { return this.measure(text, this.font); }
  private text(text: string, x: number, y: number, paint: string) {
    const s = this;
    const [a, b, c, d, e, f] = s.matrix.map(num);
    const element = `<text transform="matrix(${a} ${b} ${c} ${d} ${e} ${f})" x="${num(x)}" y="${num(y)}" style="font: ${escapeXml(s.font)}" text-anchor="${ANCHOR[s.textAlign]}" dominant-baseline="${BASELINE[s.textBaseline]}" ${paint} xml:space="preserve">${escapeXml(text)}</text>`;
    // A clip-path on the transformed <text> would be read in its rotated space: clip a group.
    this.body.push(s.clipId ? `<g${this.clipAttr()}>${element}</g>` : element);
  }
  fillText(text: string, x: number, y: number) { this.text(text, x, y, `fill="${svgPaint(this.fillStyle)}"${this.alphaAttr('fill')}`); }
  strokeText(text: string, x: number, y: number) { this.text(text, x, y, this.strokeAttrs()); }

  /** The picture so far as a standalone SVG file; `extra` is appended inside it (a caption). */
  toSvg(extra = '', height = this.canvas.height): string {
    const { width } = this.canvas;
    const lines = [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
      this.defs.length ? `<defs>${this.defs.join('')}</defs>` : '',
      ...this.body,
      extra,
      '</svg>',
    ];
    return lines.filter(Boolean).join('\n') + '\n';
  }
}
