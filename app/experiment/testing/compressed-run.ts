// The bundled model compressed into a run folder with the shared small settings
// (smallCompressOptions: 16 × 64 calibration tokens), for tests that start from a compressed run.
import { openModel } from '../../model/open.js';
import { smallCompressOptions } from '../../model/testing/small-compress.js';
import { runCompress } from '../commands.js';

export async function compressBundled(out: string, quant: string, evalTokens: number): Promise<void> {
  const model = await openModel();
  try {
    await runCompress(model, smallCompressOptions(out, quant, evalTokens));
  } finally {
    model.close();
  }
}
