// The one importer of onnxruntime-node. Everything else sees `Session`, `Device` and the
// tensor helpers below, so swapping or upgrading the runtime touches this file only.
//
// Devices map to execution providers through one table. A device that cannot start throws a
// DeviceError naming the device and ORT's reason; there is no silent fallback to the CPU.
// Note: `session.run()` computes synchronously on the calling thread (after a setImmediate),
// so long jobs belong in the engine worker (app/jobs/worker.ts).
import ort from 'onnxruntime-node';

// ORT's own log lines would repeat, on stderr, errors that we rethrow with context; keep only fatal ones.
ort.env.logLevel = 'fatal';

export type Device = 'cpu' | 'cuda' | 'webgpu';

/** Device → execution providers, and what to tell the user when the provider cannot start. */
const deviceTable: Record<Device, { providers: string[]; help: string }> = {
  cpu: { providers: ['cpu'], help: '' },
  cuda: { providers: ['cuda'], help: 'Install the CUDA provider: see README' },
  webgpu: { providers: ['webgpu'], help: 'WebGPU needs a GPU adapter (Vulkan on Linux, Metal, D3D12): see README' },
};

export const devices = Object.keys(deviceTable) as Device[];

export class DeviceError extends Error {
  override name = 'DeviceError';
}

/** Validates a user-supplied device name. */
export function parseDevice(name: string): Device {
  if (Object.hasOwn(deviceTable, name)) return name as Device;
  throw new DeviceError(`unknown device "${name}" (choose ${devices.join(', ')})`);
}

/** Which onnxruntime backends this install has, and which are bundled (usable without extra downloads). */
export function listSupportedBackends(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map(({ name, bundled }) => ({ name, bundled }));
}

export type Tensor = ort.Tensor;
export type Feeds = Record<string, Tensor>;

/** Wraps data without copying: ORT reads the Float32Array in place (weights stay zero-copy). */
export function floatTensor(data: Float32Array, dims: readonly number[]): Tensor {
  checkCount(data.length, dims, 'float32');
  return new ort.Tensor('float32', data, dims);
}

/** Float64 data, wrapped without copying (float64 graphs: accumulations that need it). */
export function doubleTensor(data: Float64Array, dims: readonly number[]): Tensor {
  checkCount(data.length, dims, 'float64');
  return new ort.Tensor('float64', data, dims);
}

export function int32Tensor(data: Int32Array, dims: readonly number[]): Tensor {
  checkCount(data.length, dims, 'int32');
  return new ort.Tensor('int32', data, dims);
}

function checkCount(length: number, dims: readonly number[], dtype: string) {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== length) throw new Error(`a ${dtype} tensor of dims [${dims.join(', ')}] needs ${count} values, got ${length}`);
}

/** An output tensor's data as float32; throws if the graph produced another dtype. */
export function floatData(tensor: Tensor, what: string): Float32Array {
  if (tensor.type !== 'float32' || !(tensor.data instanceof Float32Array)) throw new Error(`${what}: expected float32 output, got ${tensor.type}`);
  return tensor.data;
}

export interface SessionOptions {
  device: Device;
  /** Intra-op threads; 0 (default) lets ORT use one per physical core. */
  threads?: number;
  /**
   * ORT's per-session CPU arena (and memory patterns). Off by default: each of the engine's
   * dozens of sessions (block graphs per Gram set, GPTQ factor and sweep steps, metric and
   * decomposition products) would keep its own peak allocation for the life of the process —
   * at Llama-3.2-1B widths compress's peak RSS grew 3.6 → 6.0 GiB from layer 1 to 2 with it,
   * 2.3 → 3.3 without. Worth it only for small models run many times over (the bundled model's
   * default experiment: 31 s with it, 44 s without), where the ModelRunner turns it on.
   */
  memArena?: boolean;
}

/** One loaded graph. `run` validates feeds against the graph's inputs before calling ORT. */
export class Session {
  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly name: string,
    readonly device: Device,
  ) {}

  static async create(bytes: Uint8Array, name: string, options: SessionOptions): Promise<Session> {
    const { providers, help } = deviceTable[options.device] ?? deviceTable[parseDevice(options.device)];
    let inner: ort.InferenceSession;
    try {
      inner = await ort.InferenceSession.create(bytes, {
        executionProviders: providers,
        graphOptimizationLevel: 'all',
        intraOpNumThreads: options.threads ?? 0,
        enableCpuMemArena: options.memArena ?? false,
        enableMemPattern: options.memArena ?? false,
        logSeverityLevel: 4, // fatal only: errors come back as exceptions
      });
    } catch (error) {
      const reason = firstLine(error);
      if (options.device === 'cpu') throw new Error(`cannot load the ${name} graph: ${reason}`);
      throw new DeviceError(`device ${options.device} is not available: ${reason}. ${help}`);
    }
    return new Session(inner, name, options.device);
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /** Runs the graph; `fetches` limits which outputs are computed (default all), or names tensors to write them into (CPU). */
  async run(feeds: Feeds, fetches?: readonly string[] | Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const missing = this.inputNames.filter((name) => !(name in feeds));
    if (missing.length > 0) throw new Error(`${this.name}: missing the following inputs: ${missing.join(', ')}`);
    const unexpected = Object.keys(feeds).filter((name) => !this.inputNames.includes(name));
    if (unexpected.length > 0) throw new Error(`${this.name}: unexpected inputs: ${unexpected.join(', ')} (the graph takes ${this.inputNames.join(', ')})`);
    try {
      return (await this.inner.run(feeds, fetches ?? this.inner.outputNames)) as Record<string, Tensor>;
    } catch (error) {
      // Name every input with its dtype and dims: the usual cause is a shape mismatch.
      const described = Object.entries(feeds).map(([name, t]) => `${name}: ${t.type}[${t.dims.join(', ')}]`);
      throw new Error(`${this.name}: onnxruntime failed: ${firstLine(error)}\n  inputs: ${described.join('; ')}`);
    }
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // ORT prefixes messages with its source location; keep what follows.
  return message.split('\n')[0].replace(/^\/onnxruntime_src\/\S+ /, '').trim();
}
