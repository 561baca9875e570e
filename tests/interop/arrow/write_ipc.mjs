// Write Arrow IPC files with the official apache-arrow for trainer.cpp's reader to check value for value.
// Usage: node write_ipc.mjs OUT_DIR
// Writes OUT_DIR/js_stream.arrow (stream format) and OUT_DIR/js_file.arrow (file format): the same table of
// two record batches covering every type tcpp supports, with nulls and nested lists, plus schema metadata;
// and OUT_DIR/expected.json, the values as written (built from the inputs below, not read back).
import { writeFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { stringify, typeName } from './arrow_json.mjs';

const outDir = process.argv[2];
const { Field } = arrow;
const item = (t) => new Field('item', t, true);

// name -> [type, batch 1 values, batch 2 values]
const columns = {
  nul: [new arrow.Null(), [null, null, null], [null]],
  b: [new arrow.Bool(), [true, false, null], [true]],
  i8: [new arrow.Int8(), [-128, 127, null], [3]],
  i16: [new arrow.Int16(), [-32768, null, 32767], [0]],
  i32: [new arrow.Int32(), [-2147483648, 2147483647, null], [7]],
  i64: [new arrow.Int64(), [-9223372036854775808n, 9223372036854775807n, null], [9007199254740993n]],
  u8: [new arrow.Uint8(), [0, 255, null], [1]],
  u16: [new arrow.Uint16(), [65535, null, 2], [3]],
  u32: [new arrow.Uint32(), [4294967295, 0, null], [5]],
  u64: [new arrow.Uint64(), [18446744073709551615n, null, 0n], [12345678901234567890n]],
  f16: [new arrow.Float16(), [0.5, -2, null], [65504]],
  f32: [new arrow.Float32(), [0.25, null, -1.5], [1024]],
  f64: [new arrow.Float64(), [0.1, -1e-300, null], [1.7976931348623157e308]],
  s: [new arrow.Utf8(), ['hello', '', null], ['h\u00e9llo w\u00f6rld \u{1F600}']],
  ls: [new arrow.LargeUtf8(), ['a', null, 'bc'], ['']],
  bin: [new arrow.Binary(), [Uint8Array.of(0, 255, 1), Uint8Array.of(), null], [Uint8Array.of(65)]],
  lbin: [new arrow.LargeBinary(), [null, Uint8Array.of(9, 8), Uint8Array.of()], [Uint8Array.of(7)]],
  li: [new arrow.List(item(new arrow.Int32())), [[1, 2, 3], [], null], [[4, null, 5]]],
  nested: [new arrow.List(item(new arrow.List(item(new arrow.Utf8())))), [[['a'], ['b', 'c']], null, [[], null]], [[['d']]]],
  lli: [new arrow.LargeList(item(new arrow.Int64())), [[1n, 2n], null, []], [[-3n]]],
  st: [new arrow.Struct([new Field('x', new arrow.Int64(), true), new Field('y', new arrow.List(item(new arrow.Utf8())), true)]),
       [{ x: 1n, y: ['p'] }, null, { x: null, y: [] }], [{ x: 4n, y: null }]],
};

const fields = Object.entries(columns).map(([name, [type]]) => new Field(name, type, true));
const metadata = new Map([['huggingface', '{"info": {"features": {"s": {"dtype": "string", "_type": "Value"}}}}'],
                          ['writer', 'apache-arrow']]);
const schema = new arrow.Schema(fields, metadata);

function batch(k) {
  const children = Object.values(columns).map(([type, ...parts]) => arrow.vectorFromArray(parts[k], type).data[0]);
  const length = children[0].length;
  const data = arrow.makeData({ type: new arrow.Struct(fields), length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

const table = new arrow.Table(schema, [batch(0), batch(1)]);
writeFileSync(`${outDir}/js_stream.arrow`, arrow.tableToIPC(table, 'stream'));
writeFileSync(`${outDir}/js_file.arrow`, arrow.tableToIPC(table, 'file'));

// Expected values straight from the inputs (binary as byte arrays; float16 values are exactly representable).
const plain = (v) => (v instanceof Uint8Array ? Array.from(v) : v);
const expected = {
  schema: {
    fields: fields.map((f) => ({ name: f.name, type: typeName(f.type), nullable: true })),
    metadata: Object.fromEntries(metadata),
  },
  num_batches: 2,
  num_rows: 4,
  columns: Object.fromEntries(Object.entries(columns).map(([name, [, a, b]]) => [name, [...a, ...b].map(plain)])),
};
writeFileSync(`${outDir}/expected.json`, stringify(expected) + '\n');
