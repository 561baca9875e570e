// A sidecar index of an Arrow stream file's record batches (internal): where each batch's message starts and how
// many rows it holds, so that opening a file of thousands of batches costs one small read instead of one per batch
// (the stream format, which HF writes, has no index of its own).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tcpp::datasets::arrow {

/// (message offset, rows) of each record batch, in order.
using BatchEntries = std::vector<std::pair<int64_t, int64_t>>;

/// "<arrow_path>.tcpp-index".
std::string batch_index_path(const std::string& arrow_path);

/// Files with fewer batches open fast enough without an index; none is written for them.
inline constexpr size_t kMinBatchesForIndex = 64;

/// Write the index of arrow_path (complete, renamed into place) beside it, keyed by the file's size, modification
/// time and a hash of its first and last 4 KiB; written to a temp file and renamed. Best effort: an index is never
/// required, so failures are ignored. fd, when given, is the open file the entries were read from: the key is then
/// that file's, so an index can never describe one file and be keyed to another that replaced it meanwhile.
void write_batch_index(const std::string& arrow_path, const BatchEntries& batches, int fd = -1) noexcept;

/// Read the index of arrow_path (open as fd) into out. Returns false, leaving out empty, when there is none or it
/// does not match the file (any change of size, time or the hashed bytes) or is malformed; *stale then says whether
/// an index file existed. A matching index is still only a hint: the reader validates each batch when it is used.
bool read_batch_index(const std::string& arrow_path, int fd, BatchEntries& out, bool* stale = nullptr);

}  // namespace tcpp::datasets::arrow
