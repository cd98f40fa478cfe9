import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';
import { fileStem } from './download.js';
import { baseName, formatCompact, formatFloat, formatInt, formatSeconds, formatShape } from './format.js';

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
