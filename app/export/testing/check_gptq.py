# A cross-check outside TypeScript: AutoGPTQ's dequantization (qweight/qzeros shifted by
# 0, bits, 2·bits, …; zeros + 1 in the classic format; W = scales[g_idx]·(q − z)) redone in
# numpy on an exported gptq/ folder and compared with the run's W_c. 2/4/8 bits (the
# expand-and-shift form has no 3-bit case).
#   python3 app/export/testing/check_gptq.py EXPORT/gptq RUN_DIR
import json, struct, sys
import numpy as np

def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    dt = {'F32': np.float32, 'F16': np.float16, 'I32': np.int32, 'U8': np.uint8, 'F64': np.float64}
    out = {}
    for k, v in header.items():
        if k == '__metadata__': continue
        a, b = v['data_offsets']
        out[k] = np.frombuffer(data[a:b], dtype=dt[v['dtype']]).reshape(v['shape'])
    return out

g = load(sys.argv[1] + '/model.safetensors')
wc = load(sys.argv[2] + '/compressed.safetensors')
qc = json.load(open(sys.argv[1] + '/quantize_config.json'))
bits = qc['bits']; maxq = 2 ** bits - 1
wf = np.arange(0, 32, bits, dtype=np.int32)
worst = 0.0
for name in [k[:-len('.qweight')] for k in g if k.endswith('.qweight')]:
    qweight, qzeros, scales, g_idx = g[name + '.qweight'], g[name + '.qzeros'], g[name + '.scales'].astype(np.float32), g[name + '.g_idx']
    zeros = (qzeros[:, :, None] >> wf[None, None, :]) & maxq          # [groups, out/pack, pack]
    zeros = zeros.reshape(scales.shape) + (1 if qc['checkpoint_format'] == 'gptq' else 0)
    weight = (qweight[:, None, :] >> wf[None, :, None]) & maxq       # [in/pack, pack, out]
    weight = weight.reshape(-1, weight.shape[-1])                     # [in, out]
    W = (scales[g_idx] * (weight - zeros[g_idx])).T                   # [out, in]
    ref = wc[name + '.weight']
    worst = max(worst, float(np.max(np.abs(W - ref) / (np.abs(ref) + 1e-3))))
print(json.dumps({'linears': len([k for k in g if k.endswith('.qweight')]), 'format': qc['checkpoint_format'], 'max_rel_diff_vs_Wc': worst}))
