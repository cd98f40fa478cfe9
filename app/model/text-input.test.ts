// Text inputs are read in bounded chunks; /dev/zero, FIFOs and directories are refused at once
// with the file named, and the cap is stated (issue #16 item 8).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBoundedBytes, readBoundedText } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-text-'));

describe('readBoundedText', () => {
  it('reads a regular file exactly (bytes and UTF-8 text)', () => {
    const file = join(dir, 'a.txt');
    const text = 'Once upon a time — ünïcödé\n'.repeat(1000);
    writeFileSync(file, text);
    expect(readBoundedText(file)).toBe(text);
    expect(readBoundedBytes(file).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('refuses /dev/zero as a device, naming it', () => {
    expect(() => readBoundedText('/dev/zero')).toThrow('/dev/zero: is a device, not a regular text file');
  });

  it('refuses a FIFO without blocking on it', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(() => readBoundedText(fifo)).toThrow(`${fifo}: is a FIFO (named pipe), not a regular text file`);
  });

  it('refuses a directory and a missing file', () => {
    expect(() => readBoundedText(dir)).toThrow(`${dir}: is a directory`);
    expect(() => readBoundedText(join(dir, 'missing.txt'))).toThrow('missing.txt: no such file or directory');
  });

  it('states the cap when a file is over it', () => {
    const file = join(dir, 'big.txt');
    writeFileSync(file, 'x'.repeat(2000));
    expect(() => readBoundedText(file, 1000)).toThrow(`${file}: is 2,000 bytes, over the 1,000 bytes cap for text inputs`);
    expect(readBoundedText(file, 2000)).toHaveLength(2000);
  });
});
