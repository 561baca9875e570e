// load_dataset for local files: builder choice, glob expansion, fingerprinted Arrow cache (as datasets.load).
#include "tcpp/datasets/load.h"

#include <glob.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "tcpp/core/error.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/fingerprint.h"

namespace tcpp::datasets {

namespace fs = std::filesystem;

namespace {

// Bump when the cache file layout or a builder's output changes, so old caches are not reused.
constexpr const char* kCacheFormatVersion = "tcpp-datasets-cache-1";

std::string default_cache_dir() {
  if (const char* d = std::getenv("TCPP_DATASETS_CACHE"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tcpp/datasets";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tcpp/datasets";
  return ".cache/tcpp/datasets";
}

}  // namespace

std::string builder_for_extension(const std::string& path) {
  std::string ext = to_lower(fs::path(path).extension().string());
  if (ext == ".txt" || ext == ".text") return "text";
  if (ext == ".json" || ext == ".jsonl" || ext == ".ndjson") return "json";
  if (ext == ".csv" || ext == ".tsv") return "csv";
  if (ext == ".parquet") return "parquet";
  if (ext == ".arrow") return "arrow";
  return "";
}

std::vector<std::string> resolve_data_files(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const auto& p : patterns) {
    if (p.find_first_of("*?[") == std::string::npos) {
      if (!fs::is_regular_file(p)) throw InputError(p, "data file not found");
      out.push_back(p);
      continue;
    }
    glob_t g{};
    int rc = ::glob(p.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i)
        if (fs::is_regular_file(g.gl_pathv[i])) matches.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    if (matches.empty()) throw InputError(p, "no data files match this pattern");
    std::sort(matches.begin(), matches.end());
    out.insert(out.end(), matches.begin(), matches.end());
  }
  return out;
}

DatasetDict load_dataset(const LoadOptions& options) {
  if (options.data_files.empty()) throw InputError("load_dataset: no data_files given");
  std::map<std::string, std::vector<std::string>> files;
  for (const auto& [split, patterns] : options.data_files) {
    if (split.empty() || split.find('/') != std::string::npos || split == "." || split == "..")
      throw InputError("data_files", "invalid split name \"" + split + "\"");
    files[split] = resolve_data_files(patterns);
    if (files[split].empty()) throw InputError("data_files", "split \"" + split + "\" has no files");
  }
  std::string builder = options.builder;
  const std::string& first = files.begin()->second.front();
  if (builder.empty()) {
    builder = builder_for_extension(first);
    if (builder.empty())
      throw InputError(first, "cannot tell the builder from the file extension; pass the builder (text, json, csv, parquet or arrow)");
  }
  if (builder == "jsonl" || builder == "ndjson") builder = "json";
  LoadOptions opts = options;
  if (builder == "csv" && ends_with(to_lower(first), ".tsv") && opts.csv_delimiter == ',') opts.csv_delimiter = '\t';  // unlike HF, accepted (datasets#5625)
  if (builder == "arrow") {  // existing IPC files are used in place, as HF's arrow builder reads them
    DatasetDict out;
    for (const auto& [split, paths] : files) out[split] = Dataset::from_files(paths);
    return out;
  }
  if (builder != "text" && builder != "json" && builder != "csv" && builder != "parquet")
    throw InputError("builder", "unknown builder \"" + builder + "\" (expected text, json, csv, parquet or arrow)");

  // Cache key: the builder, every input file's identity (path, size, mtime) and the options that shape rows.
  Hasher h;
  h.update(kCacheFormatVersion).update(builder);
  for (const auto& [split, paths] : files) {
    h.update(split);
    for (const auto& p : paths) hash_file_identity(h, p);
  }
  h.update(static_cast<int64_t>(opts.keep_linebreaks)).update(opts.sample_by).update(opts.field);
  h.update(opts.writer_batch_size).update(std::string(1, opts.csv_delimiter));
  std::string relative = builder + "/default-" + h.hexdigest() + "/0.0.0";
  fs::path dir = fs::path(opts.cache_dir.empty() ? default_cache_dir() : opts.cache_dir) / relative;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "cannot create cache folder: " + ec.message());

  // Two processes converting the same files into one cache_dir would both do the whole work: the second waits for
  // the first (as datasets' builders wait on their FileLock), then finds its files complete and reuses them. Caches
  // that are complete already take no lock, so a read-only cache folder still loads.
  auto cache_path = [&](const std::string& split) { return (dir / (builder + "-" + split + ".arrow")).string(); };
  bool all_complete = true;
  for (const auto& [split, paths] : files)
    all_complete = all_complete && fs::exists(cache_path(split)) && arrow::ipc_file_complete(cache_path(split));
  std::optional<DirectoryLock> lock;
  if (!all_complete) lock.emplace(DirectoryLock::wait_for(dir.string(), "load_dataset"));

  DatasetDict out;
  for (const auto& [split, paths] : files) {
    std::string path = cache_path(split);
    std::string fp = Hasher().update(relative).update(split).hexdigest();
    // Cache files are not fsynced (as HF's): one cut short by a power loss is rebuilt, never trusted.
    const bool exists = fs::exists(path), complete = exists && arrow::ipc_file_complete(path);
    if (exists && !complete)
      log_warning("load_dataset: " + path + " is incomplete (the machine stopped while it was written back?); converting again");
    if (!complete) {
      log_info("load_dataset: converting " + std::to_string(paths.size()) + " " + builder + " file(s) of split " +
               split + " to " + path);
      log_debug("load_dataset: cache miss for " + relative + " split " + split + " (fingerprint " + fp + "); inputs: " +
                join(paths, ", "));
      // As HF's "Generating train split" bar: every record batch the builder writes counts its rows.
      Progress progress("Generating " + split + " split", 0);
      ProgressScope scope(progress);
      if (builder == "text") builders::build_text(paths, opts, path, fp);
      else if (builder == "csv") builders::build_csv(paths, opts, path, fp);
      else if (builder == "parquet") builders::build_parquet(paths, opts, path, fp);
      else builders::build_json(paths, opts, path, fp);
    } else {
      log_debug("load_dataset: cache hit for " + relative + " split " + split + " (fingerprint " + fp + "): " + path);
    }
    out[split] = Dataset::from_files({path}, fp);
  }
  return out;
}

}  // namespace tcpp::datasets
