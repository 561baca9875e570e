// Dataset over memory-mapped Arrow tables with index mappings (as datasets.arrow_dataset.Dataset).
#include "tcpp/datasets/dataset.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <system_error>
#include <thread>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/fingerprint.h"

namespace tcpp::datasets {

namespace fs = std::filesystem;

// ---- storage -----------------------------------------------------------------------------------------

namespace {

// The same column names and types, in the same order (nullability and metadata aside).
bool same_columns(const arrow::Schema& a, const arrow::Schema& b) {
  if (a.fields.size() != b.fields.size()) return false;
  for (size_t c = 0; c < a.fields.size(); ++c)
    if (a.fields[c].name != b.fields[c].name || a.fields[c].type != b.fields[c].type) return false;
  return true;
}

// Every schema must match the first one's column names and types; `where(t)` names source t in the error.
template <typename SchemaOf, typename WhereOf>
void check_same_schemas(size_t n, const SchemaOf& schema_of, const WhereOf& where_of) {
  const arrow::Schema& first = schema_of(0);
  for (size_t t = 1; t < n; ++t) {
    const arrow::Schema& schema = schema_of(t);
    if (!same_columns(schema, first))
      throw InputError(where_of(t), "columns differ from the first file's (" + first.to_string() + "), found (" +
                                        schema.to_string() + ")");
  }
}

}  // namespace

std::shared_ptr<const Dataset::Storage> make_storage(std::vector<arrow::Table> tables, std::vector<std::string> files) {
  auto s = std::make_shared<Dataset::Storage>();
  s->files = std::move(files);
  if (!tables.empty()) {
    s->schema = tables[0].schema;
    check_same_schemas(
        tables.size(), [&](size_t t) -> const arrow::Schema& { return tables[t].schema; },
        [&](size_t t) { return t < s->files.size() ? s->files[t] : "table " + std::to_string(t); });
  }
  s->tables = std::move(tables);
  for (size_t t = 0; t < s->tables.size(); ++t)
    for (size_t b = 0; b < s->tables[t].batches.size(); ++b) {
      int64_t n = s->tables[t].batches[b].num_rows;
      if (n == 0) continue;
      s->chunks.push_back({t, b, s->num_rows, /*mapped=*/false});
      s->num_rows += n;
    }
  return s;
}

std::shared_ptr<const Dataset::Storage> Dataset::Storage::open_mapped(const std::vector<std::string>& files) {
  auto s = std::make_shared<Storage>();
  s->files = files;
  // Files open on up to one thread per core: opening a stream file without a batch index walks every message
  // (one small read each), so a folder of several shards opens about that many times faster. The first failure in
  // file order is reported, as opening one after the other would.
  s->readers.resize(files.size());
  const size_t threads = std::min<size_t>(files.size(), std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 1) {
    for (size_t i = 0; i < files.size(); ++i) s->readers[i] = arrow::IpcFileReader::open(files[i]);
  } else {
    std::vector<std::exception_ptr> errors(files.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next++) < files.size();) {
        try {
          s->readers[i] = arrow::IpcFileReader::open(files[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::vector<std::thread> pool;
    try {
      for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    } catch (const std::system_error&) {  // no more threads to be had: the ones there (and this one) do the rest
    }
    work();
    for (auto& t : pool) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  if (!s->readers.empty()) {
    s->schema = s->readers[0]->schema();
    check_same_schemas(
        s->readers.size(), [&](size_t t) -> const arrow::Schema& { return s->readers[t]->schema(); },
        [&](size_t t) { return s->files[t]; });
  }
  for (size_t t = 0; t < s->readers.size(); ++t)
    for (size_t b = 0; b < s->readers[t]->num_batches(); ++b) {
      int64_t n = s->readers[t]->batch_num_rows(b);
      if (n == 0) continue;
      s->chunks.push_back({t, b, s->num_rows, /*mapped=*/true});
      s->num_rows += n;
    }
  return s;
}

Dataset::Storage::Located Dataset::Storage::locate(int64_t row) const {
  auto it = std::upper_bound(chunks.begin(), chunks.end(), row,
                             [](int64_t r, const Chunk& c) { return r < c.start; });
  const Chunk& c = *(it - 1);
  const arrow::RecordBatch* rb = c.mapped ? &readers[c.table]->batch(c.batch) : &tables[c.table].batches[c.batch];
  return {rb, row - c.start, c.column_map < 0 ? nullptr : &column_maps[static_cast<size_t>(c.column_map)]};
}

Dataset make_dataset(std::shared_ptr<const Dataset::Storage> storage, std::string fingerprint) {
  Dataset d;
  d.storage_ = std::move(storage);
  d.begin_ = 0;
  d.end_ = d.storage_->num_rows;
  for (size_t c = 0; c < d.storage_->schema.fields.size(); ++c) {
    d.columns_.push_back(static_cast<int>(c));
    d.names_.push_back(d.storage_->schema.fields[c].name);
  }
  d.fingerprint_ = fingerprint.empty() ? random_fingerprint() : std::move(fingerprint);
  return d;
}

Dataset Dataset::from_files(const std::vector<std::string>& paths, const std::string& fingerprint) {
  auto storage = Storage::open_mapped(paths);
  std::string fp = fingerprint;
  if (fp.empty()) {
    Hasher h;
    for (const auto& p : paths) hash_file_identity(h, p);
    fp = h.hexdigest();
  }
  return make_dataset(std::move(storage), fp);
}

Dataset Dataset::from_tables(std::vector<arrow::Table> tables, const std::string& fingerprint) {
  return make_dataset(make_storage(std::move(tables), {}), fingerprint);
}

Dataset Dataset::from_batch(const Batch& batch, const std::string& fingerprint) {
  batch.check_lengths();
  arrow::Table t;
  arrow::RecordBatch rb;
  rb.num_rows = static_cast<int64_t>(batch.num_rows());
  for (const auto& name : batch.names()) {
    const Column& c = batch.at(name);
    arrow::ArrayBuilder b(column_arrow_type(c, name));
    append_column(c, b);
    t.schema.fields.push_back(arrow::field(name, b.type()));
    rb.columns.push_back(b.finish());
  }
  t.batches.push_back(std::move(rb));
  return from_tables({std::move(t)}, fingerprint);
}

// ---- access ------------------------------------------------------------------------------------------

int64_t Dataset::num_rows() const { return end_ - begin_; }

std::vector<std::string> Dataset::column_names() const { return names_; }

arrow::Schema Dataset::schema() const {
  arrow::Schema s;
  if (!storage_) return s;
  for (size_t k = 0; k < columns_.size(); ++k) {
    arrow::Field f = storage_->schema.fields[static_cast<size_t>(columns_[k])];
    f.name = names_[k];
    s.fields.push_back(std::move(f));
  }
  return s;
}

const std::vector<std::string>& Dataset::cache_files() const {
  static const std::vector<std::string> kNone;
  return storage_ ? storage_->files : kNone;
}

int64_t Dataset::physical_row(int64_t i) const {
  int64_t j = begin_ + i;
  return indices_ ? (*indices_)[static_cast<size_t>(j)] : j;
}

Json Dataset::row(int64_t i) const {
  int64_t n = num_rows();
  int64_t k = i < 0 ? i + n : i;
  if (k < 0 || k >= n) throw InputError("row index " + std::to_string(i) + " is out of range for a dataset of " + std::to_string(n) + " rows");
  const auto at = storage_->locate(physical_row(k));
  Json out = Json::object();
  for (size_t c = 0; c < columns_.size(); ++c)
    out[names_[c]] = at.column(static_cast<size_t>(columns_[c])).to_json(at.row);
  return out;
}

namespace {

// Concatenate columns; when their kinds differ, everything becomes JSON values.
Column concat_columns(std::vector<Column> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  bool same = true;
  for (const auto& p : parts) same = same && p.storage().index() == parts[0].storage().index();
  if (!same) {
    Column::Jsons out;
    for (const auto& p : parts)
      for (size_t i = 0; i < p.size(); ++i) out.push_back(p.json(i));
    return out;
  }
  Column first = std::move(parts[0]);
  std::visit(
      [&](auto& dst) {
        using T = std::decay_t<decltype(dst)>;
        for (size_t k = 1; k < parts.size(); ++k) {
          auto& src = std::get<T>(const_cast<Column::Storage&>(parts[k].storage()));
          if constexpr (std::is_same_v<T, Column::Int32Lists> || std::is_same_v<T, Column::Int64Lists>)
            dst.append(src);  // flat: one values buffer
          else
            dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
        }
      },
      const_cast<Column::Storage&>(first.storage()));
  return first;
}

}  // namespace

Batch Dataset::batch(int64_t begin, int64_t end, const std::vector<std::string>& columns) const {
  int64_t n = num_rows();
  if (begin < 0 || end < begin || end > n)
    throw InputError("rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") are out of range for a dataset of " + std::to_string(n) + " rows");
  std::vector<int64_t> physical;
  physical.reserve(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) physical.push_back(physical_row(i));
  return gather(physical, columns);
}

Batch Dataset::rows(const std::vector<int64_t>& indices, const std::vector<std::string>& columns) const {
  int64_t n = num_rows();
  std::vector<int64_t> physical;
  physical.reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= n)
      throw InputError("row index " + std::to_string(i) + " is out of range for a dataset of " + std::to_string(n) + " rows");
    physical.push_back(physical_row(i));
  }
  return gather(physical, columns);
}

Batch Dataset::gather(const std::vector<int64_t>& physical, const std::vector<std::string>& columns) const {
  std::vector<size_t> which;
  if (columns.empty()) {
    for (size_t c = 0; c < names_.size(); ++c) which.push_back(c);
  } else {
    for (const auto& name : columns) {
      auto it = std::find(names_.begin(), names_.end(), name);
      if (it == names_.end()) throw InputError("dataset has no column \"" + name + "\"");
      which.push_back(static_cast<size_t>(it - names_.begin()));
    }
  }
  // Runs of consecutive physical rows inside one record batch are converted in one go.
  struct Run {
    Dataset::Storage::Located at;  // at.row: the run's first row
    int64_t end;
  };
  std::vector<Run> runs;
  int64_t previous = -2;
  for (int64_t p : physical) {
    // The next physical row of the same record batch extends the run without looking its batch up.
    if (p == previous + 1 && runs.back().end < runs.back().at.batch->num_rows) {
      ++runs.back().end;
      previous = p;
      continue;
    }
    previous = p;
    const auto at = storage_->locate(p);
    if (!runs.empty() && runs.back().at.batch == at.batch && runs.back().at.columns == at.columns &&
        runs.back().end == at.row) {
      ++runs.back().end;
    } else {
      runs.push_back({at, at.row + 1});
    }
  }
  Batch out;
  for (size_t c : which) {
    size_t stored = static_cast<size_t>(columns_[c]);
    std::vector<Column> parts;
    // Integer lists borrow the stored buffers (no copy); the batch keeps the storage alive.
    for (const auto& r : runs) parts.push_back(column_from_array(r.at.column(stored), r.at.row, r.end, storage_));
    if (parts.empty()) parts.push_back(column_from_array(arrow::ArrayBuilder(storage_->schema.fields[stored].type).finish(), 0, 0));
    out[names_[c]] = concat_columns(std::move(parts));
  }
  return out;
}

std::vector<Json> Dataset::column(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) throw InputError("dataset has no column \"" + name + "\"");
  size_t c = static_cast<size_t>(columns_[static_cast<size_t>(it - names_.begin())]);
  std::vector<Json> out;
  out.reserve(static_cast<size_t>(num_rows()));
  for (int64_t i = 0; i < num_rows(); ++i) {
    const auto at = storage_->locate(physical_row(i));
    out.push_back(at.column(c).to_json(at.row));
  }
  return out;
}

void Dataset::for_each_batch(int64_t batch_size, const std::function<void(const Batch&)>& fn) const {
  if (batch_size <= 0) throw InputError("batch_size must be positive, got " + std::to_string(batch_size));
  for (int64_t s = 0; s < num_rows(); s += batch_size) fn(batch(s, std::min(num_rows(), s + batch_size)));
}

int64_t stored_rows(const Dataset& d) { return d.storage_->num_rows; }

void gather_rows(const Dataset& d, size_t visible_column, int64_t begin, int64_t end, arrow::ArrayBuilder& out) {
  size_t c = static_cast<size_t>(d.columns_[visible_column]);
  for (int64_t i = begin; i < end; ++i) {
    const auto at = d.storage_->locate(d.physical_row(i));
    out.append_from(at.column(c), at.row);
  }
}

// ---- transforms --------------------------------------------------------------------------------------

namespace {
std::string derive(const std::string& fp, const std::string& op, const std::string& args) {
  Hasher h;
  h.update(fp).update(op).update(args);
  return h.hexdigest();
}
}  // namespace

Dataset concatenate_datasets(const std::vector<Dataset>& datasets) {
  if (datasets.empty()) throw InputError("concatenate_datasets", "needs at least one dataset");
  for (size_t k = 0; k < datasets.size(); ++k)
    if (!datasets[k].storage_)
      throw InputError("concatenate_datasets", "dataset " + std::to_string(k) + " is empty (default-constructed)");
  const Dataset& first = datasets.front();
  // The same columns with the same types, in any order (HF: the same features); the first's order wins.
  const arrow::Schema layout = first.schema();
  for (size_t k = 1; k < datasets.size(); ++k) {
    const arrow::Schema other = datasets[k].schema();
    bool same = other.fields.size() == layout.fields.size();
    for (size_t c = 0; same && c < layout.fields.size(); ++c) {
      const auto it = std::find_if(other.fields.begin(), other.fields.end(),
                                   [&](const arrow::Field& f) { return f.name == layout.fields[c].name; });
      same = it != other.fields.end() && it->type == layout.fields[c].type;
    }
    if (!same)
      throw InputError("concatenate_datasets", "dataset " + std::to_string(k) + " has the columns (" +
                                                   other.to_string() + "), the first (" + layout.to_string() +
                                                   "): they must have the same names and types");
  }
  // Zero-copy: the result's storage holds every dataset's batches (memory-mapped ones stay mapped), its schema
  // the first's visible columns; a batch that stores them elsewhere (another column order, renamed or hidden
  // columns, a concatenation's own map) is read through a column map, as pyarrow's select does for HF.
  auto storage = std::make_shared<Dataset::Storage>();
  storage->schema = layout;
  const size_t width = layout.fields.size();
  std::vector<int64_t> offsets;
  bool identity = true;  // every dataset shows all its stored rows in order
  for (const auto& d : datasets) {
    const Dataset::Storage& src = *d.storage_;
    // d's stored column of each of the layout's columns
    std::vector<size_t> stored(width);
    for (size_t c = 0; c < width; ++c) {
      const auto it = std::find(d.names_.begin(), d.names_.end(), layout.fields[c].name);
      stored[c] = static_cast<size_t>(d.columns_[static_cast<size_t>(it - d.names_.begin())]);
    }
    // One map per map of src (-1: src's batches in src's schema order), shared with equal maps already there.
    std::map<int, int> remapped;
    auto map_of = [&](int src_map) {
      auto [it, fresh] = remapped.try_emplace(src_map, -1);
      if (!fresh) return it->second;
      std::vector<size_t> columns(width);
      bool in_place = true;
      for (size_t c = 0; c < width; ++c) {
        columns[c] = src_map < 0 ? stored[c] : src.column_maps[static_cast<size_t>(src_map)][stored[c]];
        in_place = in_place && columns[c] == c;
      }
      if (!in_place) {
        auto same = std::find(storage->column_maps.begin(), storage->column_maps.end(), columns);
        if (same == storage->column_maps.end()) same = storage->column_maps.insert(same, std::move(columns));
        it->second = static_cast<int>(same - storage->column_maps.begin());
      }
      return it->second;
    };
    offsets.push_back(storage->num_rows);
    const size_t tables = storage->tables.size(), readers = storage->readers.size();
    storage->tables.insert(storage->tables.end(), src.tables.begin(), src.tables.end());
    storage->readers.insert(storage->readers.end(), src.readers.begin(), src.readers.end());
    storage->files.insert(storage->files.end(), src.files.begin(), src.files.end());
    for (const auto& c : src.chunks)
      storage->chunks.push_back({c.table + (c.mapped ? readers : tables), c.batch, storage->num_rows + c.start,
                                 c.mapped, map_of(c.column_map)});
    storage->num_rows += src.num_rows;
    identity = identity && !d.indices_ && d.begin_ == 0 && d.end_ == src.num_rows;
  }
  Hasher h;
  h.update("concatenate_datasets");
  for (const auto& d : datasets) h.update(d.fingerprint_);
  Dataset out = make_dataset(storage, h.hexdigest());
  if (!identity) {
    auto rows = std::make_shared<std::vector<int64_t>>();
    for (size_t k = 0; k < datasets.size(); ++k)
      for (int64_t i = 0; i < datasets[k].num_rows(); ++i) rows->push_back(offsets[k] + datasets[k].physical_row(i));
    out.end_ = static_cast<int64_t>(rows->size());
    out.indices_ = std::move(rows);
  }
  // HF keeps a format that all of them share.
  bool same_format = true;
  for (const auto& d : datasets)
    same_format = same_format && d.format_type_ == first.format_type_ && d.format_columns_ == first.format_columns_ &&
                  d.output_all_columns_ == first.output_all_columns_;
  if (same_format) {
    out.format_type_ = first.format_type_;
    out.format_columns_ = first.format_columns_;
    out.output_all_columns_ = first.output_all_columns_;
  }
  return out;
}

Dataset Dataset::select(std::vector<int64_t> indices) const {
  int64_t n = num_rows();
  Hasher h;
  h.update(fingerprint_).update("select");
  auto mapped = std::make_shared<std::vector<int64_t>>();
  mapped->reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= n)
      throw InputError("select: index " + std::to_string(i) + " is out of range for a dataset of " + std::to_string(n) + " rows");
    h.update(i);
    mapped->push_back(physical_row(i));
  }
  Dataset d = *this;
  d.indices_ = std::move(mapped);
  d.begin_ = 0;
  d.end_ = static_cast<int64_t>(indices.size());
  d.fingerprint_ = h.hexdigest();
  return d;
}

Dataset Dataset::take(int64_t n) const {
  if (n < 0) throw InputError("take", "expected a count >= 0, got " + std::to_string(n));
  return select_range(0, std::min(n, num_rows()));
}

Dataset Dataset::skip(int64_t n) const {
  if (n < 0) throw InputError("skip", "expected a count >= 0, got " + std::to_string(n));
  return select_range(std::min(n, num_rows()), num_rows());
}

Dataset Dataset::shard(int64_t num_shards, int64_t index, bool contiguous) const {
  if (num_shards < 1) throw InputError("shard", "num_shards must be >= 1, got " + std::to_string(num_shards));
  if (index < 0 || index >= num_shards)
    throw InputError("shard", "index " + std::to_string(index) + " is outside [0, " + std::to_string(num_shards) + ")");
  const int64_t n = num_rows();
  if (contiguous) {
    const int64_t div = n / num_shards, mod = n % num_shards;
    const int64_t begin = div * index + std::min(index, mod);
    return select_range(begin, begin + div + (index < mod ? 1 : 0));
  }
  std::vector<int64_t> rows;
  for (int64_t i = index; i < n; i += num_shards) rows.push_back(i);
  return select(std::move(rows));
}

Dataset Dataset::sort(const std::vector<std::string>& column_names, const std::vector<bool>& reverse,
                      const std::string& null_placement) const {
  if (column_names.empty()) throw InputError("sort", "needs at least one column name");
  if (reverse.size() > 1 && reverse.size() != column_names.size())
    throw InputError("sort", "reverse has " + std::to_string(reverse.size()) + " flags for " +
                                 std::to_string(column_names.size()) + " columns (give one, or one per column)");
  if (null_placement != "at_end" && null_placement != "at_start" && null_placement != "last" &&
      null_placement != "first")
    throw InputError("sort", "null_placement must be \"at_end\" (\"last\") or \"at_start\" (\"first\"), got " +
                                 quote(null_placement));
  const arrow::Schema visible = schema();
  std::vector<std::vector<Json>> keys;
  for (const auto& name : column_names) {
    const auto f = std::find_if(visible.fields.begin(), visible.fields.end(),
                                [&](const arrow::Field& x) { return x.name == name; });
    if (f == visible.fields.end()) throw InputError("sort", "dataset has no column " + quote(name));
    using arrow::TypeId;
    const TypeId t = f->type.id;
    if (t == TypeId::kList || t == TypeId::kLargeList || t == TypeId::kStruct || t == TypeId::kBinary ||
        t == TypeId::kLargeBinary)
      throw InputError("sort", "column " + quote(name) + " holds " + f->type.to_string() +
                                   " values, which have no order (booleans, numbers and strings sort)");
    keys.push_back(column(name));
  }
  const bool at_end = null_placement == "at_end" || null_placement == "last";
  auto kind = [](const Json& v) {  // 0 a value, 1 NaN, 2 null
    return v.is_null() ? 2 : v.is_number_float() && std::isnan(v.get<double>()) ? 1 : 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(num_rows()));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::vector<bool> descending(keys.size(), false);
  for (size_t k = 0; k < keys.size(); ++k) descending[k] = !reverse.empty() && reverse[reverse.size() == 1 ? 0 : k];
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    for (size_t k = 0; k < keys.size(); ++k) {
      const Json& x = keys[k][static_cast<size_t>(a)];
      const Json& y = keys[k][static_cast<size_t>(b)];
      const int kx = kind(x), ky = kind(y);
      if (kx != ky) return at_end ? kx < ky : kx > ky;
      if (kx != 0 || x == y) continue;
      return descending[k] ? y < x : x < y;
    }
    return false;
  });
  Dataset d = select(std::move(order));
  Hasher h;
  h.update(fingerprint_).update("sort").update(at_end ? "at_end" : "at_start");
  for (const auto& name : column_names) h.update(name);
  for (bool r : reverse) h.update(r ? "1" : "0");
  d.fingerprint_ = h.hexdigest();
  return d;
}

Dataset Dataset::select_range(int64_t begin, int64_t end) const {
  int64_t n = num_rows();
  if (begin < 0 || end < begin || end > n)
    throw InputError("select: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is out of range for a dataset of " + std::to_string(n) + " rows");
  Dataset d = *this;
  d.begin_ = begin_ + begin;
  d.end_ = begin_ + end;
  d.fingerprint_ = derive(fingerprint_, "select_range", std::to_string(begin) + ":" + std::to_string(end));
  return d;
}

Dataset Dataset::shuffle(uint64_t seed) const {
  int64_t n = num_rows();
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  // Fisher-Yates with a fixed bounded draw (Lemire's method: std::uniform_int_distribution differs by library).
  for (int64_t i = n - 1; i > 0; --i) {
    unsigned __int128 m = static_cast<unsigned __int128>(rng()) * static_cast<uint64_t>(i + 1);
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(m >> 64)]);
  }
  Dataset d = select(std::move(perm));
  d.fingerprint_ = derive(fingerprint_, "shuffle", std::to_string(seed));
  return d;
}

std::pair<Dataset, Dataset> Dataset::train_test_split(double test_size, uint64_t seed, bool shuffle) const {
  int64_t n = num_rows();
  if (!(test_size > 0 && test_size < 1))
    throw InputError("train_test_split: test_size must be in (0, 1), got " + std::to_string(test_size));
  auto n_test = static_cast<int64_t>(std::ceil(test_size * static_cast<double>(n)));
  auto n_train = static_cast<int64_t>(std::floor((1.0 - test_size) * static_cast<double>(n)));
  if (n_train <= 0 || n_test <= 0)
    throw InputError("train_test_split: with " + std::to_string(n) + " rows and test_size " + std::to_string(test_size) +
                     " one split would be empty");
  Dataset base = shuffle ? this->shuffle(seed) : *this;
  Dataset test = base.select_range(0, n_test);
  Dataset train = base.select_range(n_test, n_test + n_train);
  return {std::move(train), std::move(test)};
}

Dataset Dataset::filter(const std::function<std::vector<bool>(const Batch&)>& keep, const std::string& function_key,
                        int64_t batch_size) const {
  if (batch_size <= 0) throw InputError("filter: batch_size must be positive, got " + std::to_string(batch_size));
  std::vector<int64_t> kept;
  for (int64_t s = 0; s < num_rows(); s += batch_size) {
    int64_t e = std::min(num_rows(), s + batch_size);
    std::vector<bool> flags = keep(batch(s, e));
    if (static_cast<int64_t>(flags.size()) != e - s)
      throw InputError("filter: rows [" + std::to_string(s) + ", " + std::to_string(e) + ")",
                       "the function returned " + std::to_string(flags.size()) + " flags for " +
                           std::to_string(e - s) + " rows");
    for (int64_t i = s; i < e; ++i)
      if (flags[static_cast<size_t>(i - s)]) kept.push_back(i);
  }
  Dataset d = select(std::move(kept));
  d.fingerprint_ = function_key.empty() ? random_fingerprint() : derive(fingerprint_, "filter", function_key);
  return d;
}

Dataset Dataset::remove_columns(const std::vector<std::string>& names) const {
  Dataset d = *this;
  for (const auto& name : names) {
    auto it = std::find(d.names_.begin(), d.names_.end(), name);
    if (it == d.names_.end()) throw InputError("remove_columns: dataset has no column \"" + name + "\"");
    d.columns_.erase(d.columns_.begin() + (it - d.names_.begin()));
    d.names_.erase(it);
    d.format_columns_.erase(std::remove(d.format_columns_.begin(), d.format_columns_.end(), name), d.format_columns_.end());
  }
  std::string args;
  for (const auto& n : names) args += n + "\n";
  d.fingerprint_ = derive(fingerprint_, "remove_columns", args);
  return d;
}

void Dataset::set_format(const std::string& type, const std::vector<std::string>& columns, bool output_all_columns) {
  const std::string t = type == "python" ? "" : type;
  if (t != "" && t != "torch")
    throw InputError("with_format", "format type " + quote(type) + " is not supported (supported: torch, python)");
  for (const auto& c : columns)
    if (std::find(names_.begin(), names_.end(), c) == names_.end())
      throw InputError("with_format", "dataset has no column " + quote(c) + " (columns: " + join(names_, ", ") + ")");
  format_type_ = t;
  format_columns_ = t.empty() ? std::vector<std::string>{} : columns;
  output_all_columns_ = !t.empty() && output_all_columns;
}

Dataset Dataset::with_format(const std::string& type, const std::vector<std::string>& columns,
                             bool output_all_columns) const {
  Dataset d = *this;
  d.set_format(type, columns, output_all_columns);
  return d;
}

Dataset Dataset::rename_column(const std::string& from, const std::string& to) const {
  Dataset d = *this;
  auto it = std::find(d.names_.begin(), d.names_.end(), from);
  if (it == d.names_.end()) throw InputError("rename_column: dataset has no column \"" + from + "\"");
  if (std::find(d.names_.begin(), d.names_.end(), to) != d.names_.end())
    throw InputError("rename_column: a column \"" + to + "\" already exists");
  *it = to;
  std::replace(d.format_columns_.begin(), d.format_columns_.end(), from, to);
  d.fingerprint_ = derive(fingerprint_, "rename_column", from + "\n" + to);
  return d;
}

}  // namespace tcpp::datasets
