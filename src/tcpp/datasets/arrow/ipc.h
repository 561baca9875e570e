// Arrow IPC: read and write the stream format (what HF datasets writes) and the file format (ARROW1 + footer).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tcpp/datasets/arrow/table.h"

namespace tcpp::datasets::arrow {

enum class IpcFormat { kStream, kFile };

/// Open an Arrow IPC file, stream or file format (detected by the ARROW1 magic), memory-mapped: the arrays of
/// the returned table are zero-copy views that keep the mapping alive. Cost is O(number of batches). Any
/// truncated, corrupt or unsupported content throws InputError naming the path and what is wrong.
Table read_ipc_file(const std::string& path, IpcFormat* format = nullptr);

/// Parse IPC bytes already in memory (stream or file format). keep_alive owns [data, data + size); name is
/// used in error messages.
Table read_ipc_buffer(std::shared_ptr<const void> keep_alive, const uint8_t* data, int64_t size,
                      const std::string& name, IpcFormat* format = nullptr);

class MappedFile;

/// An Arrow IPC file (stream or file format) opened for lazy zero-copy access, for files far larger than memory
/// (as pyarrow's memory-mapped open_stream, but without reading every batch up front). open() reads the schema and
/// each record batch's position and row count with small pread()s, so the memory map is not touched: opening a
/// 1 GB file costs O(batches) small reads, 16 bytes per batch, and no resident file pages. batch(i) validates batch
/// i and builds its views on first use; it is thread-safe. Framing, metadata and bounds errors throw InputError
/// naming the path at open(); a corrupt buffer inside a batch throws when that batch is first used.
class IpcFileReader {
 public:
  static std::shared_ptr<const IpcFileReader> open(const std::string& path);
  ~IpcFileReader();
  IpcFileReader(const IpcFileReader&) = delete;
  IpcFileReader& operator=(const IpcFileReader&) = delete;

  const std::string& path() const { return path_; }
  const Schema& schema() const { return schema_; }
  IpcFormat format() const { return format_; }
  size_t num_batches() const { return entries_.size(); }
  int64_t batch_num_rows(size_t i) const { return entries_[i].num_rows; }
  int64_t num_rows() const { return num_rows_; }
  /// Record batch i (views into the memory map), loaded on first use.
  const RecordBatch& batch(size_t i) const;
  /// Every batch loaded, as a Table (what read_ipc_file returns).
  Table read_all() const;

 private:
  struct Entry {
    int64_t offset;    // of the framed RecordBatch message
    int64_t num_rows;
  };
  IpcFileReader() = default;

  std::string path_;
  Schema schema_;
  IpcFormat format_ = IpcFormat::kStream;
  std::shared_ptr<const MappedFile> file_;
  int64_t data_end_ = 0;  // where messages may end (the footer's start in the file format)
  std::vector<Entry> entries_;
  int64_t num_rows_ = 0;
  mutable std::unique_ptr<std::once_flag[]> loaded_;
  mutable std::unique_ptr<std::unique_ptr<RecordBatch>[]> batches_;
};

/// What IpcWriter::close() promises besides atomicity. Either way the bytes go to a temp file that is renamed to
/// path only once complete, so a crashed or killed process never leaves a partial file under path.
enum class Durability {
  /// fsync before the rename: the file survives a power loss once close() returns (save_to_disk's folders).
  kFsync,
  /// No fsync, as Hugging Face datasets writes its caches: the kernel writes the file back later. After a power
  /// loss or kernel crash the renamed file can be short or empty, so whoever reuses such a file checks
  /// ipc_file_complete() first and rebuilds it when that fails (load_dataset's and map's caches do).
  kPageCache,
};

/// Whether path is a whole IPC file as IpcWriter::close() leaves one: it ends with the end-of-stream marker (stream
/// format) or the ARROW1 magic (file format) and IpcFileReader::open() accepts it (which reads its batch index, or
/// else walks its messages). False, never an exception, for a missing file or one cut short at any byte (as a power
/// loss can leave a kPageCache write).
bool ipc_file_complete(const std::string& path);

/// Write record batches to an Arrow IPC file. Bytes go to a temp file beside path; close() renames it into
/// place, so readers never see a half-written file. Destroying an unclosed writer removes the temp file.
class IpcWriter {
 public:
  /// Create the temp file and write the schema message; throws InputError naming path on I/O failure.
  static std::unique_ptr<IpcWriter> open(const std::string& path, const Schema& schema,
                                         IpcFormat format = IpcFormat::kStream,
                                         Durability durability = Durability::kFsync);
  ~IpcWriter();
  IpcWriter(const IpcWriter&) = delete;
  IpcWriter& operator=(const IpcWriter&) = delete;

  /// Append one record batch; columns must match the schema's types and all have the same length.
  void write_batch(const std::vector<Array>& columns);
  void write_batch(const RecordBatch& batch) { write_batch(batch.columns); }
  /// Write the end-of-stream marker (and footer), flush, fsync (Durability::kFsync), rename into place.
  void close();
  int64_t num_rows() const { return num_rows_; }
  int64_t bytes_written() const { return pos_; }

 private:
  struct BlockInfo {
    int64_t offset;
    int32_t metadata_length;
    int64_t body_length;
    int64_t num_rows;
  };
  IpcWriter() = default;
  void write_bytes(const void* p, size_t n);
  void write_padding(size_t n);
  /// Write a framed message (continuation, length, flatbuffer, padding); returns the framed metadata size.
  int32_t write_message(const uint8_t* fb, size_t fb_size);

  std::string path_, tmp_path_;
  std::FILE* file_ = nullptr;
  void* buffer_ = nullptr;  // file_'s stdio buffer (kWriteBuffer bytes, see open())
  Schema schema_;
  IpcFormat format_ = IpcFormat::kStream;
  Durability durability_ = Durability::kFsync;
  int64_t pos_ = 0;
  int64_t writeback_ = 0;  // bytes before this offset have been handed to the disk (sync_file_range)
  int64_t num_rows_ = 0;
  std::vector<BlockInfo> blocks_;
};

/// Write a whole table (one IPC record batch per table batch), atomically.
void write_ipc_file(const std::string& path, const Table& table, IpcFormat format = IpcFormat::kStream);

}  // namespace tcpp::datasets::arrow
