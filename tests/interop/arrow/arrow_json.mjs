// Shared by the interop scripts: apache-arrow values and types in the JSON shape trainer.cpp's tests compare.
// Integers keep every digit (64-bit values are written from BigInt), binary is an array of byte values,
// lists are arrays, structs are objects, nulls are null. Type names follow pyarrow (as tcpp's DataType).
import * as arrow from 'apache-arrow';

export function typeName(t) {
  switch (t.typeId) {
    case arrow.Type.Null: return 'null';
    case arrow.Type.Bool: return 'bool';
    case arrow.Type.Int: return (t.isSigned ? 'int' : 'uint') + t.bitWidth;
    case arrow.Type.Float: return ['halffloat', 'float', 'double'][t.precision];
    case arrow.Type.Utf8: return 'string';
    case arrow.Type.LargeUtf8: return 'large_string';
    case arrow.Type.Binary: return 'binary';
    case arrow.Type.LargeBinary: return 'large_binary';
    case arrow.Type.List:
    case arrow.Type.LargeList: {
      const c = t.children[0];
      return (t.typeId === arrow.Type.List ? 'list<' : 'large_list<') + c.name + ': ' + typeName(c.type) + '>';
    }
    case arrow.Type.Struct:
      return 'struct<' + t.children.map((c) => c.name + ': ' + typeName(c.type)).join(', ') + '>';
    default: return 'unsupported:' + String(t);
  }
}

// Convert one value of type t (as apache-arrow's Vector.get returns it) to a plain JSON-able tree.
export function toPlain(t, v) {
  if (v === null || v === undefined) return null;
  switch (t.typeId) {
    case arrow.Type.Binary:
    case arrow.Type.LargeBinary: return Array.from(v);
    case arrow.Type.List:
    case arrow.Type.LargeList: {
      const out = [];
      for (let i = 0; i < v.length; ++i) out.push(toPlain(t.children[0].type, v.get(i)));
      return out;
    }
    case arrow.Type.Struct: {
      const out = {};
      for (const c of t.children) out[c.name] = toPlain(c.type, v[c.name]);
      return out;
    }
    default: return v;
  }
}

// JSON text that keeps BigInt digits (JSON.stringify refuses BigInt).
export function stringify(x) {
  if (x === null) return 'null';
  if (typeof x === 'bigint') return x.toString();
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new Error('non-finite number in interop data: ' + x);
    return JSON.stringify(x);
  }
  if (typeof x === 'string' || typeof x === 'boolean') return JSON.stringify(x);
  if (Array.isArray(x)) return '[' + x.map(stringify).join(', ') + ']';
  return '{' + Object.keys(x).map((k) => JSON.stringify(k) + ': ' + stringify(x[k])).join(', ') + '}';
}

// {"schema": {"fields": [{name, type, nullable}], "metadata": {...}}, "num_batches": n, "columns": {name: [...]}}
export function describeTable(table) {
  const fields = table.schema.fields.map((f) => ({ name: f.name, type: typeName(f.type), nullable: f.nullable }));
  const metadata = {};
  for (const [k, v] of table.schema.metadata) metadata[k] = v;
  const columns = {};
  table.schema.fields.forEach((f, c) => {
    const col = table.getChildAt(c);
    const values = [];
    for (let i = 0; i < table.numRows; ++i) values.push(toPlain(f.type, col.get(i)));
    columns[f.name] = values;
  });
  return { schema: { fields, metadata }, num_batches: table.batches.length, num_rows: table.numRows, columns };
}
