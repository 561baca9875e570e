// Streaming datasets over local files (as datasets.iterable_dataset: map, take, skip, buffer shuffle).
#include "tcpp/datasets/iterable_dataset.h"

#include <algorithm>
#include <functional>
#include <random>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/builders/lines.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/compression.h"

namespace tcpp::datasets {

struct IterableDataset::Stage {
  enum class Kind { kMap, kTake, kSkip, kShuffle } kind;
  MapFunction fn;
  MapOptions map_options;
  int64_t n = 0;
  uint64_t seed = 0;
};

namespace {

// Rows travel between stages as JSON objects in insertion order of their keys.
using Row = OrderedJson;

// A push-based stage: receives rows and forwards them to the next. push returns false when it wants no
// more input; finish() is called once at the end either way, to flush what the stage still holds.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual bool push(Row row) = 0;
  virtual bool finish() = 0;
};

Batch to_batch(const std::vector<Row>& rows) {
  std::vector<std::string> names;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.items())
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
  Batch b;
  for (const auto& name : names) {
    Column::Jsons values;
    values.reserve(rows.size());
    bool all_strings = true, all_ints = true;
    for (const auto& r : rows) {
      auto it = r.find(name);
      Json v = it == r.end() ? Json(nullptr) : Json::parse(it->dump());
      all_strings = all_strings && v.is_string();
      all_ints = all_ints && v.is_number_integer();
      values.push_back(std::move(v));
    }
    if (all_strings && !values.empty()) {
      Column::Strings s;
      for (auto& v : values) s.push_back(v.get<std::string>());
      b[name] = std::move(s);
    } else if (all_ints && !values.empty()) {
      Column::Int64s s;
      for (auto& v : values) s.push_back(v.get<int64_t>());
      b[name] = std::move(s);
    } else {
      b[name] = std::move(values);
    }
  }
  return b;
}

std::vector<Row> from_batch(const Batch& b) {
  b.check_lengths();
  std::vector<Row> rows(b.num_rows(), Row::object());
  for (const auto& name : b.names()) {
    const Column& c = b.at(name);
    for (size_t i = 0; i < rows.size(); ++i) rows[i][name] = Row::parse(c.json(i).dump());
  }
  return rows;
}

class BatchingSink : public Sink {  // the user's consumer
 public:
  BatchingSink(int64_t size, const std::function<bool(const Batch&)>& fn) : size_(size), fn_(fn) {}
  bool push(Row row) override {
    if (stopped_) return false;
    rows_.push_back(std::move(row));
    if (static_cast<int64_t>(rows_.size()) < size_) return true;
    return flush();
  }
  bool finish() override { return stopped_ || rows_.empty() || flush(); }

 private:
  bool flush() {
    stopped_ = !fn_(to_batch(rows_));  // the caller asked to stop: nothing more reaches it
    rows_.clear();
    return !stopped_;
  }
  bool stopped_ = false;
  int64_t size_;
  const std::function<bool(const Batch&)>& fn_;
  std::vector<Row> rows_;
};

class MapSink : public Sink {
 public:
  MapSink(const IterableDataset::Stage& s, Sink& next) : s_(s), next_(next) {}
  bool push(Row row) override {
    rows_.push_back(std::move(row));
    int64_t size = s_.map_options.batched ? std::max<int64_t>(1, s_.map_options.batch_size) : 1;
    if (static_cast<int64_t>(rows_.size()) < size) return true;
    return flush();
  }
  bool finish() override { return (rows_.empty() || flush()) && next_.finish(); }

 private:
  bool flush() {
    std::vector<Row> in = std::move(rows_);
    rows_.clear();
    Batch result = s_.fn(to_batch(in));
    std::vector<Row> out = from_batch(result);
    bool keep_inputs = false;
    for (auto& r : in) {
      for (const auto& c : s_.map_options.remove_columns) r.erase(c);
      keep_inputs = keep_inputs || !r.empty();
    }
    if (keep_inputs && result.num_columns() > 0 && out.size() != in.size())
      throw InputError("streaming map: the function returned " + std::to_string(out.size()) + " rows for " +
                       std::to_string(in.size()) + " input rows while input columns are kept; pass them in remove_columns");
    if (result.num_columns() == 0) out = std::move(in);
    else if (keep_inputs)
      for (size_t i = 0; i < out.size(); ++i) {
        Row merged = in[i];
        for (auto& [k, v] : out[i].items()) merged[k] = v;
        out[i] = std::move(merged);
      }
    for (auto& r : out)
      if (!next_.push(std::move(r))) return false;
    return true;
  }
  const IterableDataset::Stage& s_;
  Sink& next_;
  std::vector<Row> rows_;
};

class TakeSink : public Sink {
 public:
  TakeSink(int64_t n, Sink& next) : left_(n), next_(next) {}
  bool push(Row row) override {
    if (left_ <= 0) return false;
    --left_;
    return next_.push(std::move(row)) && left_ > 0;
  }
  bool finish() override { return next_.finish(); }

 private:
  int64_t left_;
  Sink& next_;
};

class SkipSink : public Sink {
 public:
  SkipSink(int64_t n, Sink& next) : left_(n), next_(next) {}
  bool push(Row row) override {
    if (left_ > 0) {
      --left_;
      return true;
    }
    return next_.push(std::move(row));
  }
  bool finish() override { return next_.finish(); }

 private:
  int64_t left_;
  Sink& next_;
};

class ShuffleSink : public Sink {
 public:
  ShuffleSink(int64_t size, uint64_t seed, Sink& next) : size_(std::max<int64_t>(1, size)), rng_(seed), next_(next) {}
  bool push(Row row) override {
    if (static_cast<int64_t>(buffer_.size()) < size_) {
      buffer_.push_back(std::move(row));
      return true;
    }
    size_t i = static_cast<size_t>(rng_() % buffer_.size());
    Row out = std::move(buffer_[i]);
    buffer_[i] = std::move(row);
    return next_.push(std::move(out));
  }
  bool finish() override {
    for (size_t i = buffer_.size(); i > 1; --i) std::swap(buffer_[i - 1], buffer_[static_cast<size_t>(rng_() % i)]);
    for (auto& r : buffer_)
      if (!next_.push(std::move(r))) return false;
    buffer_.clear();
    return next_.finish();
  }

 private:
  int64_t size_;
  std::mt19937_64 rng_;
  std::vector<Row> buffer_;
  Sink& next_;
};

// Calls fn(piece, first_line, offset) with path's text: the whole memory-mapped file, or, when it is compressed
// (streamed as datasets streams it, never decompressed to disk), pieces of the decompressed text that end after a
// line feed (the last one: at the end of the data), first_line and offset saying where each begins. Stops, returning
// false, when fn does.
bool for_each_text_piece(const std::string& path,
                         const std::function<bool(std::string_view, int64_t, int64_t)>& fn) {
  const Compression c = detect_compression(path);
  if (c == Compression::kNone) {
    auto file = arrow::MappedFile::open(path);
    return fn(std::string_view(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size())), 1,
              0);
  }
  constexpr size_t kPiece = size_t{4} << 20;
  auto reader = DecompressingReader::open(path, c);
  std::string buf;
  int64_t first_line = 1, offset = 0;
  for (bool end = false; !end;) {
    const size_t kept = buf.size();
    buf.resize(kept + kPiece);
    const size_t n = reader->read_full(buf.data() + kept, kPiece);
    buf.resize(kept + n);
    end = n == 0;
    // A line longer than a piece (or a file without line feeds) grows buf until its line feed comes.
    const size_t cut = end ? buf.size() : buf.rfind('\n', buf.size() - 1) + 1;
    if (cut == 0 && !end) continue;
    const std::string_view piece(buf.data(), cut);
    if (!fn(piece, first_line, offset)) return false;
    first_line += std::count(piece.begin(), piece.end(), '\n');
    offset += static_cast<int64_t>(cut);
    buf.erase(0, cut);
  }
  return true;
}

// Read every row of the files into sink (stops when it returns false).
void read_rows(const std::string& builder, const std::vector<std::string>& files, const LoadOptions& o, Sink& sink) {
  if (builder == "parquet" || builder == "csv") {
    // Parquet one row group in memory at a time, as HF streams parquet; csv 10,000 records at a time, as its
    // pandas reader does.
    auto rows = [&](const arrow::Schema& schema, const std::vector<arrow::Array>& columns) {
      int64_t n = columns.empty() ? 0 : columns[0].length();
      for (int64_t i = 0; i < n; ++i) {
        Row row = Row::object();
        for (size_t c = 0; c < columns.size(); ++c) row[schema.fields[c].name] = Row(columns[c].to_json(i));
        if (!sink.push(std::move(row))) return false;
      }
      return true;
    };
    for (const auto& path : files) {
      if (const Compression c = detect_compression(path); c != Compression::kNone)
        throw InputError(path, std::string("a ") + compression_name(c) + "-compressed " + builder + " file does not "
                               "stream here" + (builder == "parquet" ? " (parquet compresses its pages itself)" : "") +
                               "; load it without streaming (it is decompressed into the cache)");
      const bool more = builder == "csv" ? builders::for_each_csv_chunk(path, o, 10000, rows)
                                         : builders::for_each_parquet_row_group(path, rows);
      if (!more) return;
    }
    return;
  }
  for (const auto& path : files) {
    int64_t line_no = 0;  // JSON Lines: the lines before the piece
    const bool more = for_each_text_piece(path, [&](std::string_view text, int64_t first_line, int64_t offset) {
      builders::check_utf8(text, path, first_line, offset);
      if (builder == "text") {
        bool more = true;
        builders::for_each_line(text, o.keep_linebreaks, [&](std::string_view line) {
          more = more && sink.push(Row{{"text", std::string(line)}});
          return more;
        });
        return more;
      }
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (trim(line).empty()) continue;
        Row value = Row::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) throw InputError(path, line_no, "invalid JSON (streaming reads JSON Lines only)");
        if (!value.is_object()) throw InputError(path, line_no, "expected a JSON object (one record)");
        if (!sink.push(std::move(value))) return false;
      }
      return true;
    });
    if (!more) return;
  }
}

}  // namespace

IterableDataset IterableDataset::from_files(const LoadOptions& options, const std::string& split) {
  auto it = options.data_files.find(split);
  if (it == options.data_files.end()) throw InputError("data_files", "no split named \"" + split + "\"");
  IterableDataset d;
  d.options_ = options;
  d.files_ = resolve_data_files(it->second);
  if (d.files_.empty()) throw InputError("data_files", "split \"" + split + "\" has no files");
  d.builder_ = options.builder.empty() ? builder_for_extension(d.files_[0]) : options.builder;
  if (d.builder_ == "jsonl" || d.builder_ == "ndjson") d.builder_ = "json";
  if (d.builder_ == "csv") d.options_.csv_delimiter = csv_delimiter_for(d.files_[0], d.options_.csv_delimiter);
  if (d.builder_ != "text" && d.builder_ != "json" && d.builder_ != "parquet" && d.builder_ != "csv")
    throw NotImplemented("streaming: only the text, json (JSON Lines), csv and parquet builders stream; got \"" +
                         d.builder_ + "\"");
  if (d.builder_ == "text" && options.sample_by != "line")
    throw NotImplemented("streaming: text with sample_by=" + options.sample_by + " is not supported; use line");
  return d;
}

IterableDataset IterableDataset::map(MapFunction fn, const MapOptions& options) const {
  IterableDataset d = *this;
  auto s = std::make_shared<Stage>();
  s->kind = Stage::Kind::kMap;
  s->fn = std::move(fn);
  s->map_options = options;
  d.stages_.push_back(std::move(s));
  return d;
}

IterableDataset IterableDataset::take(int64_t n) const {
  IterableDataset d = *this;
  auto s = std::make_shared<Stage>();
  s->kind = Stage::Kind::kTake;
  s->n = n;
  d.stages_.push_back(std::move(s));
  return d;
}

IterableDataset IterableDataset::skip(int64_t n) const {
  IterableDataset d = *this;
  auto s = std::make_shared<Stage>();
  s->kind = Stage::Kind::kSkip;
  s->n = n;
  d.stages_.push_back(std::move(s));
  return d;
}

IterableDataset IterableDataset::shuffle(uint64_t seed, int64_t buffer_size) const {
  IterableDataset d = *this;
  auto s = std::make_shared<Stage>();
  s->kind = Stage::Kind::kShuffle;
  s->n = buffer_size;
  s->seed = seed;
  d.stages_.push_back(std::move(s));
  return d;
}

void IterableDataset::for_each_batch(int64_t batch_size, const std::function<bool(const Batch&)>& fn) const {
  if (batch_size <= 0) throw InputError("batch_size must be positive, got " + std::to_string(batch_size));
  std::vector<std::unique_ptr<Sink>> chain;
  chain.push_back(std::make_unique<BatchingSink>(batch_size, fn));
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) {
    Sink& next = *chain.back();
    const Stage& s = **it;
    switch (s.kind) {
      case Stage::Kind::kMap: chain.push_back(std::make_unique<MapSink>(s, next)); break;
      case Stage::Kind::kTake: chain.push_back(std::make_unique<TakeSink>(s.n, next)); break;
      case Stage::Kind::kSkip: chain.push_back(std::make_unique<SkipSink>(s.n, next)); break;
      case Stage::Kind::kShuffle: chain.push_back(std::make_unique<ShuffleSink>(s.n, s.seed, next)); break;
    }
  }
  Sink& head = *chain.back();
  read_rows(builder_, files_, options_, head);
  head.finish();
}

std::vector<Json> IterableDataset::to_rows() const {
  std::vector<Json> out;
  for_each_batch(1000, [&](const Batch& b) {
    for (size_t i = 0; i < b.num_rows(); ++i) {
      Json row = Json::object();
      for (const auto& name : b.names()) row[name] = b.at(name).json(i);
      out.push_back(std::move(row));
    }
    return true;
  });
  return out;
}

}  // namespace tcpp::datasets
