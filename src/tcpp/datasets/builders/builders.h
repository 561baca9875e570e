// Packaged builders (internal): each converts its input files to one Arrow stream file, atomically.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/type.h"
#include "tcpp/datasets/load.h"

namespace tcpp::datasets::builders {

/// Pass 2 of the json/csv builders: values appended column by column, written as record batches of batch_rows rows.
class BatchedTableWriter {
 public:
  BatchedTableWriter(const std::string& path, const arrow::Schema& schema, int64_t batch_rows);
  arrow::ArrayBuilder& column(size_t i) { return builders_[i]; }
  /// Call before appending a row of row_bytes input bytes (a JSON line, a CSV record; 0 when unknown): writes the
  /// pending rows first when their bytes and this row's could pass kArrowMaxStringBytes, the most one utf8 array
  /// holds. A row's input bytes bound what it adds to any string column (JSON and CSV quoting never shrink text).
  void begin_row(int64_t row_bytes);
  /// Call after each complete row: writes a record batch once batch_rows rows are pending.
  void end_row();
  /// Write the pending rows and close the file.
  void close();

 private:
  void flush();
  std::unique_ptr<arrow::IpcWriter> writer_;
  std::vector<arrow::ArrayBuilder> builders_;
  int64_t batch_rows_;
  int64_t pending_bytes_ = 0;
};

/// The most bytes one Arrow utf8 array, and so one string value, can hold (32-bit offsets).
inline constexpr int64_t kArrowMaxStringBytes = 2147483647;
/// The longest row the text, json (a JSON Lines line) and csv (one record) builders accept: $TCPP_MAX_ROW_BYTES when
/// set (a smaller limit makes a huge line a clear error naming file and line before it is parsed or copied),
/// otherwise kArrowMaxStringBytes.
int64_t max_row_bytes();
/// The InputError for a row over max_row_bytes(): "WHERE: a row of N bytes is longer than the limit of M bytes
/// (...); ADVICE", or "a row of more than M bytes" when n < 0 (its end was not looked for).
[[noreturn]] void throw_row_too_long(const std::string& where, int64_t n, int64_t limit, const std::string& advice);

/// text: a "text" column, one row per line (Python str.splitlines after universal newlines), paragraph
/// or document. Invalid UTF-8 throws InputError with file:line.
void build_text(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint);

/// json: JSON Lines or a top-level array of records (or of strings: a "text" column), or options.field
/// of a top-level object. Column types are inferred over all rows; conflicts throw InputError with
/// file:line and the column.
void build_json(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint);

/// csv: a header row, then records (quoted fields may hold delimiters, quotes and newlines). Column types as
/// pandas infers them: int64 (float64 when a value is missing), float64, bool, else string; missing values
/// are nulls. A row with more fields than the header throws InputError with file:line.
void build_csv(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
               const std::string& fingerprint);

/// parquet: one column per top-level field: primitives, structs and (nested) lists (every codec but LZO;
/// PLAIN, dictionary, RLE booleans, DELTA_* and BYTE_STREAM_SPLIT; data page v1 and v2). Every file must
/// have the first one's columns. Unsupported or corrupt input throws InputError naming the file, row group
/// and column.
void build_parquet(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                   const std::string& fingerprint);

/// Streaming csv (no cache): path's records in chunks of chunk_rows, each chunk's columns typed from its own values as
/// pandas types each chunk of read_csv(chunksize=...) (datasets' csv builder reads 10,000 rows at a time); calls fn
/// with each chunk's columns and stops, returning false, when fn does. Errors as build_csv's.
bool for_each_csv_chunk(const std::string& path, const LoadOptions& options, int64_t chunk_rows,
                        const std::function<bool(const arrow::Schema&, const std::vector<arrow::Array>&)>& fn);

/// Streaming parquet (no cache): decode path one row group at a time and call fn with its columns as Arrow
/// arrays; stop, returning false, when fn does. Errors as build_parquet's.
bool for_each_parquet_row_group(const std::string& path,
                                const std::function<bool(const arrow::Schema&, const std::vector<arrow::Array>&)>& fn);

}  // namespace tcpp::datasets::builders
