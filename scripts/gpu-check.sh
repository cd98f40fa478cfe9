#!/usr/bin/env bash
# GPU readiness check: which onnxruntime providers start here, the benchmarks on each GPU that
# does, and the bundled default experiment on the CPU and on each GPU, with every variant's
# perplexity compared against the CPU run (must agree within 1e-3 relative: the GPU runs the
# same graphs, and GPTQ/EoRA's products in float32 where the CPU path keeps small layers in
# float64 JavaScript).
#
#   scripts/gpu-check.sh [--quick]     --quick: skip the benchmarks (the experiments only)
#
# Without a GPU it says so and exits 0 after the CPU part. Exit 1 when a GPU run fails or a
# perplexity differs by more than 1e-3. Everything it writes goes to $GPU_CHECK_OUT (default: a
# fresh /tmp/gpu-check.* folder), one log per step.
set -u
cd "$(dirname "$0")/.."
out=${GPU_CHECK_OUT:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
mkdir -p "$out"
benches="forward gptq eora"
[ "${1:-}" = "--quick" ] && benches=""
experiment=resources/experiments/default.json
tolerance=1e-3

echo "gpu-check: logs and runs in $out"
if [ ! -f out/app/cli/main.js ]; then
  echo "building the engine (npm run build:app)"
  npm run build:app >"$out/build.log" 2>&1 || { echo "build failed, see $out/build.log"; exit 1; }
fi

echo
echo "== What this machine has"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/  NVIDIA GPU: /'
else
  echo "  nvidia-smi: not found (no NVIDIA driver)"
fi
if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "  Vulkan loader: found (WebGPU uses it on Linux)"
else
  echo "  Vulkan loader: libvulkan.so.1 not found (WebGPU needs it: apt-get install libvulkan1 plus the GPU's Vulkan driver, e.g. mesa-vulkan-drivers or NVIDIA's)"
fi
if ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
  echo "  onnxruntime CUDA provider: installed"
else
  echo "  onnxruntime CUDA provider: not installed (needs CUDA 12 + cuDNN 9; fetch it with: npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12)"
fi

echo
echo "== Providers (a 64×64 MatMul on each device, checked against float64 JS)"
node --input-type=module - "$out/devices.txt" <<'EOF'
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const app = (p) => import(pathToFileURL(resolve('out/app', p)).href);
const { SessionCache } = await app('onnx/sessionCache.js');
const { matmulF32 } = await app('onnx/matmul.js');
const n = 64;
const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(3 * i));
const started = [];
for (const device of ['cpu', 'cuda', 'webgpu']) {
  const cache = new SessionCache(device);
  try {
    const c = await matmulF32(cache, a, [n, n], b, [n, n]);
    let err = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
      err = Math.max(err, Math.abs(c[i * n + j] - s));
    }
    console.log(`  ${device.padEnd(7)} starts (max |error| of the product ${err.toExponential(1)})`);
    if (device !== 'cpu') started.push(device);
  } catch (error) {
    console.log(`  ${device.padEnd(7)} cannot start: ${error.message.split('\n')[0]}`);
  } finally {
    await cache.release();
  }
}
writeFileSync(process.argv[2], started.join(' '));
EOF
gpus=$(cat "$out/devices.txt" 2>/dev/null)

echo
echo "== The bundled experiment on the CPU (the reference)"
if ! node bin/eora.mjs run "$experiment" --device cpu --out "$out/run-cpu" >"$out/run-cpu.log" 2>&1; then
  echo "  CPU run failed, see $out/run-cpu.log"
  exit 1
fi
echo "  done: $out/run-cpu"

if [ -z "$gpus" ]; then
  echo
  echo "No GPU provider starts on this machine: nothing to compare. CPU part done."
  exit 0
fi

status=0
for device in $gpus; do
  echo
  echo "== $device"
  for bench in $benches; do
    echo "  npm run bench -- $bench --device $device"
    if node bin/eora-bench.mjs "$bench" --device "$device" >"$out/bench-$bench-$device.txt" 2>&1; then
      sed 's/^/    /' "$out/bench-$bench-$device.txt"
    else
      echo "    FAILED, see $out/bench-$bench-$device.txt"
      status=1
    fi
  done
  echo "  eora run $experiment --device $device"
  if ! node bin/eora.mjs run "$experiment" --device "$device" --out "$out/run-$device" >"$out/run-$device.log" 2>&1; then
    echo "    FAILED, see $out/run-$device.log"
    status=1
  fi
done

echo
echo "== Perplexities against the CPU run (relative difference must be ≤ $tolerance)"
node --input-type=module - "$out" "$tolerance" $gpus <<'EOF' || status=1
import { existsSync, readFileSync } from 'node:fs';
const [dir, tolerance, ...devices] = process.argv.slice(2);
const read = (device) => {
  const file = `${dir}/run-${device}/metrics.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).variants : null;
};
const cpu = read('cpu');
const runs = devices.map((d) => [d, read(d)]);
let ok = true;
const header = ['variant', 'text', 'cpu', ...devices.flatMap((d) => [d, 'rel. diff'])];
const rows = [];
for (const [name, variant] of Object.entries(cpu)) {
  for (const [text, { ppl }] of Object.entries(variant.ppl ?? {})) {
    const row = [name, text, ppl.toFixed(4)];
    for (const [, variants] of runs) {
      const other = variants?.[name]?.ppl?.[text]?.ppl;
      if (other === undefined) {
        row.push('missing', 'FAIL');
        ok = false;
        continue;
      }
      const rel = Math.abs(other - ppl) / ppl;
      if (!(rel <= Number(tolerance))) ok = false;
      row.push(other.toFixed(4), `${rel.toExponential(1)}${rel <= Number(tolerance) ? '' : ' FAIL'}`);
    }
    rows.push(row);
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log('  ' + r.map((c, i) => c.padEnd(widths[i])).join('  '));
console.log(ok ? '  all within tolerance' : '  SOME PERPLEXITIES DIFFER (or a run is missing)');
process.exit(ok ? 0 : 1);
EOF
exit $status
