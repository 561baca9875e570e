// Arrow's temporal types (date, time, timestamp, duration) through the official apache-arrow, compared by their stored
// integers (the text trainer.cpp gives them is checked against Python's datetime in its unit tests).
// Usage: node temporal_ipc.mjs OUT_DIR      writes OUT_DIR/js_temporal.arrow (file format) and the values it holds
//                                          to OUT_DIR/js_temporal.json; and OUT_DIR/js_temporal.parquet, the same
//                                          table written by npm parquet-wasm (arrow-rs)
//        node temporal_ipc.mjs FILE.arrow   prints FILE's temporal columns in the same JSON shape
// Shape: {"fields": [{"name", "type"}], "raw": {name: [integer or null, ...]}}, types spelled as pyarrow's.
import { readFileSync, writeFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { stringify } from './arrow_json.mjs';

const UNITS = ['s', 'ms', 'us', 'ns'];

function typeName(t) {
  switch (t.typeId) {
    case arrow.Type.Date: return t.unit === arrow.DateUnit.DAY ? 'date32[day]' : 'date64[ms]';
    case arrow.Type.Time: return `time${t.bitWidth}[${UNITS[t.unit]}]`;
    case arrow.Type.Timestamp: return `timestamp[${UNITS[t.unit]}${t.timezone ? ', tz=' + t.timezone : ''}]`;
    case arrow.Type.Duration: return `duration[${UNITS[t.unit]}]`;
    default: return 'unsupported:' + String(t);
  }
}

function describe(table) {
  const fields = table.schema.fields.map((f) => ({ name: f.name, type: typeName(f.type) }));
  const raw = {};
  table.schema.fields.forEach((f, c) => {
    const values = [];
    for (const data of table.getChildAt(c).data)
      for (let i = 0; i < data.length; ++i) values.push(data.getValid(i) ? BigInt(data.values[data.offset + i]) : null);
    raw[f.name] = values;
  });
  return { fields, raw };
}

if (process.argv[2].endsWith('.arrow')) {
  process.stdout.write(stringify(describe(arrow.tableFromIPC(readFileSync(process.argv[2])))) + '\n');
} else {
  const outDir = process.argv[2];
  const { TimeUnit } = arrow;
  // name -> [type, typed array constructor, values (null = null)]
  const columns = {
    d32: [new arrow.DateDay(), Int32Array, [19782, null, -1, -719162]],
    d64: [new arrow.DateMillisecond(), BigInt64Array, [0n, 1709164800000n, null, -86400000n]],
    t32s: [new arrow.TimeSecond(), Int32Array, [86399, 0, null, 3723]],
    t32ms: [new arrow.TimeMillisecond(), Int32Array, [null, 43200250, 1, 0]],
    t64us: [new arrow.TimeMicrosecond(), BigInt64Array, [3723000004n, null, 0n, 86399999999n]],
    t64ns: [new arrow.TimeNanosecond(), BigInt64Array, [1n, 2n, null, 86399999999999n]],
    ts_s: [new arrow.Timestamp(TimeUnit.SECOND), BigInt64Array, [0n, 2147483648n, null, -1n]],
    ts_ms_utc: [new arrow.Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array, [-14182940000n, null, 1n, 0n]],
    ts_us_ny: [new arrow.Timestamp(TimeUnit.MICROSECOND, 'America/New_York'), BigInt64Array,
      [null, 946684800000001n, 5n, 6n]],
    ts_ns: [new arrow.Timestamp(TimeUnit.NANOSECOND), BigInt64Array,
      [-9223372036854775808n, 9223372036854775807n, null, 0n]],
    dur_s: [new arrow.Duration(TimeUnit.SECOND), BigInt64Array, [-5n, 0n, null, 3600n]],
    dur_ns: [new arrow.Duration(TimeUnit.NANOSECOND), BigInt64Array, [null, 1n, 2n, 3n]],
  };
  const fields = Object.entries(columns).map(([name, [type]]) => new arrow.Field(name, type, true));
  const children = Object.values(columns).map(([type, Typed, values]) => {
    const data = new Typed(values.length);
    const bitmap = new Uint8Array(8);
    values.forEach((v, i) => {
      if (v === null) return;
      data[i] = v;
      bitmap[i >> 3] |= 1 << (i & 7);
    });
    const nullCount = values.filter((v) => v === null).length;
    return arrow.makeData({ type, length: values.length, nullCount, nullBitmap: bitmap, data });
  });
  const schema = new arrow.Schema(fields);
  const data = arrow.makeData({ type: new arrow.Struct(fields), length: 4, nullCount: 0, children });
  const table = new arrow.Table(schema, [new arrow.RecordBatch(schema, data)]);
  writeFileSync(`${outDir}/js_temporal.arrow`, arrow.tableToIPC(table, 'file'));
  const expected = {
    fields: fields.map((f) => ({ name: f.name, type: typeName(f.type) })),
    raw: Object.fromEntries(Object.entries(columns).map(([name, [, , values]]) =>
      [name, values.map((v) => (v === null ? null : BigInt(v)))])),
  };
  writeFileSync(`${outDir}/js_temporal.json`, stringify(expected) + '\n');

  // The same table as parquet: dates, times of day and timestamps are annotated (DATE, TIME, TIMESTAMP with
  // isAdjustedToUTC); the rest (durations, date64, second units) are plain integers that the file's ARROW:schema
  // names, as do the timezone names.
  const props = new pq.WriterPropertiesBuilder().setMaxRowGroupSize(3).build();  // two row groups
  const parquet = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
  writeFileSync(`${outDir}/js_temporal.parquet`, parquet);
}
