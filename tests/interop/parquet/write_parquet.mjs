// Write Parquet files with a real implementation (npm parquet-wasm: the Rust arrow-rs `parquet` crate compiled to
// WebAssembly) for trainer.cpp's parquet builder to read value for value.
// Usage: node write_parquet.mjs OUT_DIR
// Writes OUT_DIR/<variant>.parquet for each variant below (the same table, 2500 rows, several row groups and
// pages, written with different codecs / encodings / data page versions) and OUT_DIR/expected.json: the schema
// and the values as generated here (not read back), in the JSON shape of arrow_json.mjs.
import { writeFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { stringify, typeName } from '../arrow/arrow_json.mjs';

const outDir = process.argv[2];
const N = 2500;
const { Field } = arrow;

// Deterministic values: small vocabularies (dictionary-friendly), unique strings (dictionary fallback),
// nulls at different strides, multi-byte UTF-8, empty strings, empty and null lists, null list items.
const words = ['the', 'quick', 'br\u00f6wn', 'fox', '', 'jumps \u{1F600}', 'over', 'lazy dog'];
const gen = {
  id: [new arrow.Int64(), (i) => BigInt(i) * 3689348814741910323n % 9223372036854775807n - 4611686018427387904n],
  i32: [new arrow.Int32(), (i) => (i % 7 === 3 ? null : ((i * 2654435761) | 0))],
  small: [new arrow.Int32(), (i) => i % 5],  // few distinct values: dictionary-encoded ints
  text: [new arrow.Utf8(), (i) => (i % 5 === 4 ? null : words[(i * 7) % words.length])],
  uniq: [new arrow.Utf8(), (i) => `row ${i} \u00e9t\u00e9 ${'x'.repeat(i % 13)}`],
  flag: [new arrow.Bool(), (i) => (i % 11 === 0 ? null : i % 3 === 0)],
  f32: [new arrow.Float32(), (i) => (i - 1000) * 0.25],
  f64: [new arrow.Float64(), (i) => (i % 9 === 8 ? null : i / 7 - 100)],
  u16: [new arrow.Uint16(), (i) => (i * 37) % 65536],
  nothing: [new arrow.Null(), () => null],  // parquet logical type UNKNOWN
  // Nested: a struct holding a list, a list of lists, a list of structs; nulls at every level.
  pt: [new arrow.Struct([new Field('x', new arrow.Int64(), true), new Field('tags', new arrow.List(new Field('item', new arrow.Utf8(), true)), true)]),
       (i) => (i % 6 === 5 ? null : { x: i % 4 === 1 ? null : BigInt(i) * 1000n, tags: i % 5 === 2 ? null : words.slice(i % 3, i % 3 + (i % 4)) })],
  nested: [new arrow.List(new Field('item', new arrow.List(new Field('item', new arrow.Int32(), true)), true)),
           (i) => (i % 8 === 7 ? null : Array.from({ length: i % 3 }, (_, k) => ((i + k) % 4 === 3 ? null : Array.from({ length: (i + k) % 3 }, (_, m) => (m === 1 && i % 2 ? null : i * 100 + k * 10 + m)))))],
  recs: [new arrow.List(new Field('item', new arrow.Struct([new Field('a', new arrow.Int32(), true), new Field('b', new arrow.Utf8(), true)]), true)),
         (i) => (i % 9 === 4 ? null : Array.from({ length: (i * 7) % 4 }, (_, k) => (k === 2 ? null : { a: k === 1 && i % 2 ? null : i + k, b: words[(i + k) % words.length] })))],
  tokens: [new arrow.List(new Field('item', new arrow.Int32(), true)),
           (i) => (i % 10 === 9 ? null : Array.from({ length: i % 4 }, (_, k) => (k === 1 && i % 3 === 0 ? null : i * 10 + k)))],
};

const fields = Object.entries(gen).map(([name, [type]]) => new Field(name, type, true));
const values = Object.fromEntries(Object.entries(gen).map(([name, [, f]]) => [name, Array.from({ length: N }, (_, i) => f(i))]));
const vectors = Object.fromEntries(Object.entries(gen).map(([name, [type]]) => [name, arrow.vectorFromArray(values[name], type)]));
const table = new arrow.Table(vectors);
const ipc = arrow.tableToIPC(table, 'stream');

// name -> writer properties. Small row groups and pages so every file has several of each.
const base = () => new pq.WriterPropertiesBuilder().setMaxRowGroupSize(1000).setDataPageSizeLimit(2048);
const variants = {
  plain_uncompressed_v1: base().setCompression(pq.Compression.UNCOMPRESSED).setWriterVersion(pq.WriterVersion.V1)
    .setDictionaryEnabled(false).setEncoding(pq.Encoding.PLAIN),
  dict_snappy_v1: base().setCompression(pq.Compression.SNAPPY).setWriterVersion(pq.WriterVersion.V1).setDictionaryEnabled(true),
  dict_zstd_v2: base().setCompression(pq.Compression.ZSTD).setWriterVersion(pq.WriterVersion.V2).setDictionaryEnabled(true),
  plain_zstd_v2: base().setCompression(pq.Compression.ZSTD).setWriterVersion(pq.WriterVersion.V2)
    .setDictionaryEnabled(false).setEncoding(pq.Encoding.PLAIN),
  delta_snappy_v2: base().setCompression(pq.Compression.SNAPPY).setWriterVersion(pq.WriterVersion.V2)
    .setDictionaryEnabled(false).setEncoding(pq.Encoding.PLAIN)
    .setColumnEncoding('id', pq.Encoding.DELTA_BINARY_PACKED).setColumnEncoding('i32', pq.Encoding.DELTA_BINARY_PACKED)
    .setColumnEncoding('small', pq.Encoding.DELTA_BINARY_PACKED),
  delta_strings_v2: base().setCompression(pq.Compression.ZSTD).setWriterVersion(pq.WriterVersion.V2)
    .setDictionaryEnabled(false).setEncoding(pq.Encoding.PLAIN)
    .setColumnEncoding('text', pq.Encoding.DELTA_LENGTH_BYTE_ARRAY).setColumnEncoding('uniq', pq.Encoding.DELTA_BYTE_ARRAY)
    .setColumnEncoding('f32', pq.Encoding.BYTE_STREAM_SPLIT).setColumnEncoding('f64', pq.Encoding.BYTE_STREAM_SPLIT),
  // arrow-rs's own defaults for a v2 file: dictionary pages, falling back to DELTA_* encodings.
  defaults_v2: new pq.WriterPropertiesBuilder().setMaxRowGroupSize(1000).setWriterVersion(pq.WriterVersion.V2)
    .setDictionaryPageSizeLimit(256).setDataPageSizeLimit(1024),
  gzip_v1: base().setCompression(pq.Compression.GZIP).setWriterVersion(pq.WriterVersion.V1),
  brotli_v2: base().setCompression(pq.Compression.BROTLI).setWriterVersion(pq.WriterVersion.V2),
  lz4_hadoop_v1: base().setCompression(pq.Compression.LZ4).setWriterVersion(pq.WriterVersion.V1),
  lz4_raw_v2: base().setCompression(pq.Compression.LZ4_RAW).setWriterVersion(pq.WriterVersion.V2),
};
for (const [name, props] of Object.entries(variants)) {
  const t = pq.Table.fromIPCStream(ipc);
  writeFileSync(`${outDir}/${name}.parquet`, pq.writeParquet(t, props.build()));
}

const expected = {
  schema: { fields: fields.map((f) => ({ name: f.name, type: typeName(f.type) })) },
  columns: values,
};
writeFileSync(`${outDir}/expected.json`, stringify(expected));
console.log(Object.keys(variants).join('\n'));
