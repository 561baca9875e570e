// Dataset::map: batched transforms written to fingerprinted Arrow cache files, sharded over threads
// (as datasets.arrow_dataset.Dataset.map / _map_single with num_proc).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/fingerprint.h"

namespace tcpp::datasets {

namespace fs = std::filesystem;

namespace {

// Contiguous shard i of n, as datasets' shard(contiguous=True): the first len % n shards get one extra row.
std::pair<int64_t, int64_t> shard_range(int64_t len, int n, int i) {
  int64_t div = len / n, mod = len % n;
  int64_t start = div * i + std::min<int64_t>(i, mod);
  return {start, start + div + (i < mod ? 1 : 0)};
}

std::string shard_path(const std::string& base, int i, int n) {
  if (n == 1) return base;
  fs::path p(base);
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "_%05d_of_%05d", i, n);
  return (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
}

// The output of one shard: written to a file (path non-empty) or kept in memory.
class ShardWriter {
 public:
  ShardWriter(std::string path, std::string fingerprint, int64_t writer_batch_size)
      : path_(std::move(path)), fingerprint_(std::move(fingerprint)), writer_batch_size_(writer_batch_size) {}

  bool has_schema() const { return !builders_.empty() || schema_set_; }
  void set_schema(arrow::Schema schema) {
    schema_ = std::move(schema);
    schema_.metadata = hf_schema_metadata(schema_, fingerprint_);
    schema_set_ = true;
    for (const auto& f : schema_.fields) builders_.emplace_back(f.type);
    if (!path_.empty()) writer_ = arrow::IpcWriter::open(path_, schema_, arrow::IpcFormat::kStream, arrow::Durability::kPageCache);
  }
  const arrow::Schema& schema() const { return schema_; }
  std::vector<arrow::ArrayBuilder>& builders() { return builders_; }

  void maybe_flush(bool force) {
    if (builders_.empty() || builders_[0].length() == 0) return;
    if (!force && builders_[0].length() < writer_batch_size_) return;
    arrow::RecordBatch rb;
    rb.num_rows = builders_[0].length();
    if (writer_) {  // written at once: borrow the buffers and reuse them for the next batch
      for (auto& b : builders_) rb.columns.push_back(b.borrow());
      writer_->write_batch(rb);
      for (auto& b : builders_) b.reset();
      return;
    }
    for (auto& b : builders_) rb.columns.push_back(b.finish());
    table_.batches.push_back(std::move(rb));
  }

  arrow::Table finish() {
    maybe_flush(/*force=*/true);
    if (writer_) writer_->close();
    table_.schema = schema_;
    return std::move(table_);
  }

 private:
  std::string path_, fingerprint_;
  int64_t writer_batch_size_;
  arrow::Schema schema_;
  bool schema_set_ = false;
  std::vector<arrow::ArrayBuilder> builders_;
  std::unique_ptr<arrow::IpcWriter> writer_;
  arrow::Table table_;
};

struct ShardJob {
  const Dataset* input;
  const MapFunction* fn;
  const MapOptions* options;
  int64_t begin, end;
  ShardWriter* out;
  Progress* progress;
};

void run_shard(const ShardJob& job) {
  const Dataset& in = *job.input;
  const MapOptions& opt = *job.options;
  std::vector<std::string> names = in.column_names();
  std::vector<size_t> kept;  // visible input columns that stay
  for (size_t c = 0; c < names.size(); ++c)
    if (std::find(opt.remove_columns.begin(), opt.remove_columns.end(), names[c]) == opt.remove_columns.end())
      kept.push_back(c);
  int64_t step = opt.batched ? (opt.batch_size > 0 ? opt.batch_size : std::max<int64_t>(1, job.end - job.begin)) : 1;
  arrow::Schema in_schema = in.schema();
  for (int64_t s = job.begin; s < job.end; s += step) {
    int64_t e = std::min(job.end, s + step);
    if (opt.drop_last_batch && e - s < step) break;
    Batch result = (*job.fn)(in.batch(s, e));
    std::string where = "map: rows [" + std::to_string(s) + ", " + std::to_string(e) + ")";
    try {
      result.check_lengths();
    } catch (const InputError& err) {
      throw InputError(where, std::string("the function returned ") + err.what());
    }
    // Output columns: kept input columns not overwritten by the result, in input order, then the result's.
    std::vector<size_t> carried;
    for (size_t c : kept)
      if (!result.contains(names[c])) carried.push_back(c);
    int64_t rows = result.num_columns() > 0 ? static_cast<int64_t>(result.num_rows()) : e - s;
    if (rows != e - s && !carried.empty())
      throw InputError(where, "the function returned " + std::to_string(rows) + " rows for " + std::to_string(e - s) +
                                  " input rows while input column \"" + names[carried[0]] +
                                  "\" is kept; pass it in remove_columns");
    if (!job.out->has_schema()) {
      arrow::Schema schema;
      for (size_t c : carried) schema.fields.push_back(in_schema.fields[c]);
      for (const auto& name : result.names()) {
        try {
          schema.fields.push_back(arrow::field(name, column_arrow_type(result.at(name), name)));
        } catch (const InputError& err) {
          throw InputError(where, "column \"" + name + "\": " + err.what());
        }
      }
      job.out->set_schema(std::move(schema));
    }
    auto& builders = job.out->builders();
    const auto& fields = job.out->schema().fields;
    size_t expected_columns = carried.size() + result.num_columns();
    if (expected_columns != fields.size())
      throw InputError(where, "the function returned different columns than for the first batch");
    size_t k = 0;
    for (size_t c : carried) {
      if (fields[k].name != names[c]) throw InputError(where, "the function returned different columns than for the first batch");
      gather_rows(in, c, s, e, builders[k++]);
    }
    for (const auto& name : result.names()) {
      if (fields[k].name != name)
        throw InputError(where, "column \"" + name + "\" was not returned for the first batch (columns must not change between batches)");
      try {
        append_column(result.at(name), builders[k++]);
      } catch (const InputError& err) {
        throw InputError(where, "column \"" + name + "\": " + err.what() + " (its type from the first batch is " +
                                    fields[k - 1].type.to_string() + ")");
      }
    }
    job.out->maybe_flush(/*force=*/false);
    job.progress->update(e - s);
  }
  if (!job.out->has_schema()) {  // no rows: the input's kept columns, empty
    arrow::Schema schema;
    for (size_t c : kept) schema.fields.push_back(in_schema.fields[c]);
    job.out->set_schema(std::move(schema));
  }
}

// HF's transmit_format: the result keeps the parent's format type; a listed set of formatted columns becomes the
// result's columns less those the parent left unformatted (sorted, as HF), so removed columns drop out and new
// ones are formatted. (HF's "no column formatted" list has no spelling here: that case formats all columns.)
Dataset transmit_format(const Dataset& parent, Dataset out) {
  if (parent.format_type().empty()) return out;
  std::vector<std::string> columns;
  if (!parent.format_columns().empty()) {
    const auto& formatted = parent.format_columns();
    std::set<std::string> unformatted;
    for (const auto& name : parent.column_names())
      if (std::find(formatted.begin(), formatted.end(), name) == formatted.end()) unformatted.insert(name);
    for (const auto& name : out.column_names())
      if (!unformatted.count(name)) columns.push_back(name);
    std::sort(columns.begin(), columns.end());
  }
  out.set_format(parent.format_type(), columns, parent.output_all_columns());
  return out;
}

}  // namespace

Dataset Dataset::map(const MapFunction& fn, const MapOptions& options) const {
  for (const auto& name : options.remove_columns)
    if (std::find(names_.begin(), names_.end(), name) == names_.end())
      throw InputError("map: remove_columns names \"" + name + "\", which is not a column of the dataset");
  int64_t n = num_rows();
  // Batched maps shard on batch boundaries, so batch-sensitive functions (run_clm's group_texts drops each batch's
  // remainder) give the same rows for any num_proc. HF cuts shards at len/num_proc and its results change with it.
  const int64_t unit = options.batched ? std::max<int64_t>(1, options.batch_size) : 1;
  const int64_t units = (n + unit - 1) / unit;
  int num_proc = std::max(1, options.num_proc);
  if (units > 0 && num_proc > units) num_proc = static_cast<int>(units);  // as HF: clamped to the number of rows
  if (n == 0) num_proc = 1;

  std::string fp;
  if (options.function_key.empty()) {
    fp = random_fingerprint();
    log_warning("map: no function_key given, so the result cannot be cached (fingerprint " + fp +
                " is random); set MapOptions::function_key to what the function depends on");
  } else {
    // num_proc is not hashed (as HF): the result is the same for any number of shards.
    Hasher h;
    h.update(fingerprint_).update("map").update(options.function_key);
    h.update(static_cast<int64_t>(options.batched)).update(options.batch_size);
    h.update(static_cast<int64_t>(options.drop_last_batch));
    for (const auto& c : options.remove_columns) h.update(c);
    fp = h.hexdigest();
  }

  std::string base;
  if (!options.cache_file_name.empty()) {
    base = options.cache_file_name;
  } else if (!cache_files().empty()) {
    base = (fs::path(cache_files()[0]).parent_path() / ("cache-" + fp + ".arrow")).string();
  }
  std::vector<std::string> paths;
  if (!base.empty())
    for (int i = 0; i < num_proc; ++i) paths.push_back(shard_path(base, i, num_proc));

  if (!paths.empty() && options.load_from_cache_file && !options.function_key.empty()) {
    bool all = std::all_of(paths.begin(), paths.end(), [](const std::string& p) { return fs::exists(p); });
    // Cache files are not fsynced (as HF's): a set with a file cut short by a power loss is rebuilt, never trusted.
    if (all && !std::all_of(paths.begin(), paths.end(), [](const std::string& p) { return arrow::ipc_file_complete(p); })) {
      log_warning("map: the cached result in " + fs::path(paths[0]).parent_path().string() +
                  " has an incomplete file (the machine stopped while it was written back?); computing it again");
      all = false;
    }
    if (all) {
      log_info("map: loading cached result from " + paths[0]);
      log_debug("map: cache hit for fingerprint " + fp + " (parent " + fingerprint_ + ", function_key " +
                quote(options.function_key) + "): " + std::to_string(paths.size()) + " file(s) in " +
                fs::path(paths[0]).parent_path().string());
      return transmit_format(*this, from_files(paths, fp));
    }
  }
  if (paths.empty()) {
    log_debug("map: fingerprint " + fp + " (parent " + fingerprint_ + "), in memory (no cache file)");
  } else {
    log_debug(std::string("map: cache ") + (options.load_from_cache_file ? "miss" : "not used (load_from_cache_file=false)") +
              " for fingerprint " + fp + " (parent " + fingerprint_ + ", function_key " + quote(options.function_key) +
              "); writing " + std::to_string(paths.size()) + " file(s): " + paths[0] + (paths.size() > 1 ? " ..." : ""));
  }

  // As HF: "Map" or "Map (num_proc=N)", one bar for all shards, counting input rows.
  std::string desc = options.desc.empty() ? std::string("Map") : options.desc;
  if (num_proc > 1) desc += " (num_proc=" + std::to_string(num_proc) + ")";
  Progress progress(desc, n);
  std::mutex shards_mu;  // counts and posts "shards k/N done" in one step, so the last post is N/N
  int shards_done = 0;
  const auto map_start = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<ShardWriter>> writers;
  std::vector<ShardJob> jobs;
  for (int i = 0; i < num_proc; ++i) {
    writers.push_back(std::make_unique<ShardWriter>(paths.empty() ? "" : paths[static_cast<size_t>(i)], fp,
                                                    std::max<int64_t>(1, options.writer_batch_size)));
    auto [ub, ue] = shard_range(units, num_proc, i);
    jobs.push_back({this, &fn, &options, ub * unit, std::min(ue * unit, n), writers.back().get(), &progress});
  }
  std::vector<arrow::Table> tables(static_cast<size_t>(num_proc));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(num_proc));
  auto work = [&](int i) {
    try {
      const auto shard_start = std::chrono::steady_clock::now();
      run_shard(jobs[static_cast<size_t>(i)]);
      tables[static_cast<size_t>(i)] = writers[static_cast<size_t>(i)]->finish();
      if (num_proc > 1) {
        std::lock_guard<std::mutex> lock(shards_mu);
        progress.set_postfix("shards " + std::to_string(++shards_done) + "/" + std::to_string(num_proc) + " done");
      }
      const auto& job = jobs[static_cast<size_t>(i)];
      log_debug("map: shard " + std::to_string(i) + "/" + std::to_string(num_proc) + " rows [" + std::to_string(job.begin) +
                ", " + std::to_string(job.end) + ") done in " +
                std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - shard_start).count()) + " s" +
                (paths.empty() ? std::string() : " -> " + paths[static_cast<size_t>(i)]));
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
    }
  };
  if (num_proc == 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < num_proc; ++i) threads.emplace_back(work, i);
    for (auto& t : threads) t.join();
  }
  writers.clear();  // removes the temp files of shards that failed
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  progress.close();
  log_debug("map: " + std::to_string(n) + " rows in " +
            std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - map_start).count()) + " s");
  for (int i = 1; i < num_proc; ++i) {
    const auto& a = tables[0].schema.fields;
    const auto& b = tables[static_cast<size_t>(i)].schema.fields;
    bool same = a.size() == b.size();
    for (size_t c = 0; same && c < a.size(); ++c) same = a[c] == b[c];
    if (!same) {
      for (const auto& p : paths) std::remove(p.c_str());  // never leave a set a later run would trust
      throw InputError("map: shard " + std::to_string(i) + " produced columns (" + tables[static_cast<size_t>(i)].schema.to_string() +
                       ") that differ from shard 0's (" + tables[0].schema.to_string() + ")");
    }
  }
  if (!paths.empty()) return transmit_format(*this, from_files(paths, fp));
  return transmit_format(*this, from_tables(std::move(tables), fp));
}

}  // namespace tcpp::datasets
