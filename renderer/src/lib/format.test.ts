import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';
import { fileStem } from './download.js';
import {
  baseName,
  deltaVerdict,
  formatCompact,
  formatDuration,
  formatEta,
  formatFloat,
  formatInt,
  formatMetricDelta,
  formatMetricValue,
  formatSeconds,
  formatShape,
  metricDecimals,
} from './format.js';

describe('format', () => {
  it('writes integers with separators and compactly', () => {
    expect(formatInt(656000)).toBe('656,000');
    expect(formatCompact(656000)).toBe('656K');
    expect(formatCompact(6_738_415_616)).toBe('6.74B');
  });

  it('writes floats with four significant digits, exponents at the extremes', () => {
    expect(formatFloat(56.39358486475568)).toBe('56.39');
    expect(formatFloat(2.125)).toBe('2.125');
    expect(formatFloat(-0.000123456)).toBe('-1.235e-4');
    expect(formatFloat(0)).toBe('0');
    expect(formatFloat(Number.NaN)).toBe('NaN');
  });

  it('writes shapes as [out, in], seconds, and base names', () => {
    expect(formatShape(128, 384)).toBe('[128, 384]');
    expect(formatSeconds(0.42)).toBe('420 ms');
    expect(formatSeconds(3.14159)).toBe('3.14 s');
    expect(baseName('/work/main/resources/models/tinystories-656k/')).toBe('tinystories-656k');
    expect(baseName('C:\\models\\stories260K.bin')).toBe('stories260K.bin');
  });
});

describe('benchmark metrics', () => {
  it('uses 2 decimals for perplexity and 3 for accuracies', () => {
    expect(metricDecimals('ppl:tinystories')).toBe(2);
    expect(metricDecimals('acc:arc_easy')).toBe(3);
    expect(metricDecimals('acc_norm:tinystories_cloze')).toBe(3);
    expect(metricDecimals('something:else')).toBe(4);
  });

  it('writes values and standard errors with the metric decimals', () => {
    expect(formatMetricValue('ppl:tinystories', 44.8371)).toBe('44.84');
    expect(formatMetricValue('acc:arc_easy', 0.55)).toBe('0.550');
    expect(formatMetricValue('acc:arc_easy', 0.11143)).toBe('0.111');
    expect(formatMetricValue('ppl:tinystories', 1.2)).toBe('1.20');
    expect(formatMetricValue('ppl:tinystories', -3.456)).toBe('\u22123.46');
  });

  it('signs deltas explicitly with the real minus sign, and writes a zero delta unsigned', () => {
    expect(formatMetricDelta('ppl:tinystories', -2.2971)).toBe('\u22122.30');
    expect(formatMetricDelta('ppl:tinystories', 8.638)).toBe('+8.64');
    expect(formatMetricDelta('ppl:tinystories', -10.93)).toBe('\u221210.93');
    expect(formatMetricDelta('acc:arc_easy', 0.05000000000000004)).toBe('+0.050');
    expect(formatMetricDelta('acc:arc_easy', -0.1)).toBe('\u22120.100');
    expect(formatMetricDelta('acc:arc_easy', 0)).toBe('0.000');
    expect(formatMetricDelta('acc:arc_easy', -1e-17)).toBe('0.000');
    expect(formatMetricDelta('ppl:tinystories', 0.004)).toBe('0.00');
    expect(formatMetricDelta('ppl:tinystories', -0.004)).toBe('0.00');
  });

  it('judges a delta by the metric direction, as shown', () => {
    expect(deltaVerdict('ppl:tinystories', -2.3, true)).toBe('better');
    expect(deltaVerdict('ppl:tinystories', 8.6, true)).toBe('worse');
    expect(deltaVerdict('acc:arc_easy', 0.05, false)).toBe('better');
    expect(deltaVerdict('acc:arc_easy', -0.1, false)).toBe('worse');
    expect(deltaVerdict('acc:arc_easy', 0, false)).toBe('same');
    expect(deltaVerdict('ppl:tinystories', -0.004, true)).toBe('same');
  });
});

describe('durations', () => {
  it('writes an ETA in minutes and seconds, rounded up', () => {
    expect(formatEta(80)).toBe('ETA 1 min 20 s');
    expect(formatEta(79.2)).toBe('ETA 1 min 20 s');
    expect(formatEta(59.5)).toBe('ETA 1 min 0 s');
    expect(formatEta(12.1)).toBe('ETA 13 s');
    expect(formatEta(0)).toBe('ETA 0 s');
    expect(formatEta(3 * 3600 + 5 * 60 + 10)).toBe('ETA 3 h 5 min');
    expect(formatEta(undefined)).toBe('');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('');
  });

  it('writes a stage duration in ms, seconds or minutes', () => {
    expect(formatDuration(0.42)).toBe('420 ms');
    expect(formatDuration(3.14159)).toBe('3.1 s');
    expect(formatDuration(80.4)).toBe('1 min 20 s');
    expect(formatDuration(Number.NaN)).toBe('');
  });
});

describe('csv', () => {
  it('quotes only the fields that need it and ends lines with CRLF', () => {
    expect(toCsv({ header: ['a', 'b'], rows: [[1, 'x,y'], [2.5, 'say "hi"']] })).toBe('a,b\r\n1,"x,y"\r\n2.5,"say ""hi"""\r\n');
  });
});

describe('fileStem', () => {
  it('keeps layer names readable in file names', () => {
    expect(fileStem('Weights of model.layers.1.mlp.down_proj')).toBe('weights-of-model.layers.1.mlp.down_proj');
    expect(fileStem('///')).toBe('chart');
  });
});
