// A small typed builder for ONNX graphs on onnx-buf (protobuf definitions). Graph generators
// (app/forward/graphs/) are readable code that calls `node()`; the bytes this produces are
// handed to `createSession` (runtime.ts). Weights are graph INPUTS, so a built graph is
// independent of any checkpoint and one session serves every layer of the same shape.
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType as DataType,
  TensorProtoSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';
/** A dimension: a fixed size or a symbolic name ('B', 'T', ...). */
export type Dim = number | string;

const dataTypes: Record<DType, DataType> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};

/** Attribute values are tagged because ONNX distinguishes int 1 from float 1.0. */
export type Attr = { int: number } | { float: number } | { ints: readonly number[] } | { floats: readonly number[] } | { string: string };
export const int = (value: number): Attr => ({ int: value });
export const float = (value: number): Attr => ({ float: value });
export const ints = (values: readonly number[]): Attr => ({ ints: values });

export const ONNX_OPSET = 21;
/** The ONNX version this IR matches (opset 21 ⇔ IR 10). */
const IR_VERSION = 10n;
export const MS_DOMAIN = 'com.microsoft';

export interface NodeOptions {
  /** Operator domain; '' (default) is standard ONNX. */
  domain?: string;
  /** How many outputs the node has (default 1); names are generated. */
  outputs?: number;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Declares a graph input; returns its name for use in `node()`. */
  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Marks an existing value as a graph output under `name` (an Identity renames it). */
  output(value: string, name: string, dtype: DType, dims: readonly Dim[]): void {
    if (value !== name) {
      this.claim(name);
      this.nodes.push(makeNode('Identity', [value], [name], {}, '', `${name}_identity`));
    }
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** A small constant (shape vectors, eps): stored in the graph as an initializer. */
  constant(dtype: 'float32' | 'int32' | 'int64', dims: readonly number[], values: readonly number[], hint = 'const'): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length) throw new Error(`constant ${hint}: ${values.length} values for dims [${dims}]`);
    const name = this.fresh(hint);
    const tensor = create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: dataTypes[dtype] });
    if (dtype === 'float32') tensor.floatData = [...values];
    else if (dtype === 'int32') tensor.int32Data = [...values];
    else tensor.int64Data = values.map((v) => BigInt(v));
    this.initializers.push(tensor);
    return name;
  }

  /** Adds a node with one output; returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, options: Omit<NodeOptions, 'outputs'> = {}): string {
    return this.node(opType, inputs, attrs, options)[0];
  }

  /** Adds a node; returns its generated output names. '' in `inputs` marks an omitted optional input. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, options: NodeOptions = {}): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) throw new Error(`${this.name}: ${opType} reads "${input}", which is not defined yet`);
    }
    const domain = options.domain ?? '';
    if (domain !== '') this.domains.add(domain);
    const base = this.fresh(opType.toLowerCase());
    const outputs = Array.from({ length: options.outputs ?? 1 }, (_, i) => (i === 0 ? base : this.fresh(`${base}_${i}`)));
    this.nodes.push(makeNode(opType, inputs, outputs, attrs, domain, base));
    return outputs;
  }

  /** Serializes the model (opset 21, plus com.microsoft v1 when a node uses it). */
  build(): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`${this.name}: a graph needs at least one output`);
    const opsetImport = [{ domain: '', version: BigInt(ONNX_OPSET) }, ...[...this.domains].map((domain) => ({ domain, version: 1n }))];
    const model = create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      producerName: 'eora-workbench',
      opsetImport,
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    });
    return toBinary(ModelProtoSchema, model);
  }

  private claim(name: string) {
    if (this.names.has(name)) throw new Error(`${this.name}: the name "${name}" is used twice`);
    this.names.add(name);
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }
}

function valueInfo(name: string, dtype: DType, dims: readonly Dim[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } }));
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType: dataTypes[dtype], shape: { dim } } } },
  });
}

function makeNode(opType: string, input: readonly string[], output: readonly string[], attrs: Record<string, Attr>, domain: string, name: string): NodeProto {
  const attribute = Object.entries(attrs).map(([key, value]) => attribute_(key, value));
  return create(NodeProtoSchema, { opType, input: [...input], output: [...output], attribute, domain, name });
}

function attribute_(name: string, value: Attr): MessageInitShape<typeof AttributeProtoSchema> {
  if ('int' in value) return { name, type: AttrType.INT, i: BigInt(value.int) };
  if ('float' in value) return { name, type: AttrType.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: AttrType.INTS, ints: value.ints.map((v) => BigInt(v)) };
  if ('floats' in value) return { name, type: AttrType.FLOATS, floats: [...value.floats] };
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(value.string) };
}
