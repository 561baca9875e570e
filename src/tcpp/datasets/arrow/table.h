// Arrow tables: a schema plus record batches of column views (as pyarrow.Table, chunked per batch).
#pragma once

#include <cstdint>
#include <vector>

#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets::arrow {

/// Columns of equal length, one per schema field.
struct RecordBatch {
  int64_t num_rows = 0;
  std::vector<Array> columns;
};

struct Table {
  Schema schema;
  std::vector<RecordBatch> batches;

  int64_t num_rows() const {
    int64_t n = 0;
    for (const auto& b : batches) n += b.num_rows;
    return n;
  }
  int num_columns() const { return static_cast<int>(schema.fields.size()); }
};

}  // namespace tcpp::datasets::arrow
