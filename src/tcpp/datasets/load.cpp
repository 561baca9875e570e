// load_dataset for local files: builder choice, glob expansion, fingerprinted Arrow cache (as datasets.load).
#include "tcpp/datasets/load.h"

#include <glob.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/compression.h"
#include "tcpp/datasets/data_files.h"
#include "tcpp/datasets/metadata.h"
#include "tcpp/datasets/fingerprint.h"

namespace tcpp::datasets {

namespace fs = std::filesystem;

namespace {

// Bump when the cache file layout or a builder's output changes, so old caches are not reused.
constexpr const char* kCacheFormatVersion = "tcpp-datasets-cache-1";

// A split's input files with the compressed ones decompressed (as datasets' extract step; detected by content)
// into the cache folder, under its lock, for the builders to read; removed when converted or failed.
constexpr const char* kDecompressedPrefix = "decompressed-";

class DecompressedInputs {
 public:
  DecompressedInputs(const std::vector<std::string>& originals, const fs::path& dir, const std::string& split)
      : originals_(originals), paths_(originals) {
    try {
      for (size_t i = 0; i < originals.size(); ++i) {
        const Compression c = detect_compression(originals[i]);
        if (c == Compression::kNone) continue;
        // ".tmp" ends the name, so that no file's name is a prefix of another's (name_originals).
        paths_[i] = (dir / (kDecompressedPrefix + split + "-" + std::to_string(i) + ".tmp")).string();
        log_info("load_dataset: decompressing " + originals[i] + " (" + compression_name(c) + ")");
        decompress_file(originals[i], c, paths_[i]);
      }
    } catch (...) {
      remove_all();
      throw;
    }
  }
  DecompressedInputs(const DecompressedInputs&) = delete;
  DecompressedInputs& operator=(const DecompressedInputs&) = delete;
  ~DecompressedInputs() { remove_all(); }
  const std::vector<std::string>& paths() const { return paths_; }
  // A builder's message with each decompressed file named as the user knows it.
  std::string name_originals(std::string message) const {
    for (size_t i = 0; i < paths_.size(); ++i) {
      if (paths_[i] == originals_[i]) continue;
      const std::string by = originals_[i] + " (decompressed)";
      for (size_t at = 0; (at = message.find(paths_[i], at)) != std::string::npos; at += by.size())
        message.replace(at, paths_[i].size(), by);
    }
    return message;
  }

 private:
  void remove_all() {
    std::error_code ec;
    for (size_t i = 0; i < paths_.size(); ++i)
      if (paths_[i] != originals_[i]) fs::remove(paths_[i], ec);
  }
  std::vector<std::string> originals_, paths_;
};

// Decompressed inputs of a conversion that was killed; called with the cache folder's lock held.
void remove_decompressed_leftovers(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (starts_with(entry.path().filename().string(), kDecompressedPrefix)) fs::remove(entry.path(), ec);
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("TCPP_DATASETS_CACHE"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tcpp/datasets";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tcpp/datasets";
  return ".cache/tcpp/datasets";
}

}  // namespace

std::string builder_for_extension(const std::string& path) {
  std::string ext = to_lower(fs::path(without_compression_extension(path)).extension().string());
  if (ext == ".txt" || ext == ".text") return "text";
  if (ext == ".json" || ext == ".jsonl" || ext == ".ndjson") return "json";
  if (ext == ".csv" || ext == ".tsv") return "csv";
  if (ext == ".parquet") return "parquet";
  if (ext == ".arrow") return "arrow";
  return "";
}

char csv_delimiter_for(const std::string& first, char delimiter) {
  // Unlike HF, a .tsv is read with tabs without a sep (datasets#5625).
  return delimiter == ',' && ends_with(to_lower(without_compression_extension(first)), ".tsv") ? '\t' : delimiter;
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
  if (builder == "csv") opts.csv_delimiter = csv_delimiter_for(first, opts.csv_delimiter);
  if (builder == "arrow") {  // existing IPC files are used in place, as HF's arrow builder reads them
    for (const auto& [split, paths] : files)
      for (const auto& p : paths)
        if (const Compression c = detect_compression(p); c != Compression::kNone)
          throw InputError(p, std::string("a ") + compression_name(c) + "-compressed Arrow file: the arrow builder "
                              "memory-maps its files in place; decompress it first");
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
  if (!all_complete) {
    lock.emplace(DirectoryLock::wait_for(dir.string(), "load_dataset"));
    remove_decompressed_leftovers(dir);
  }

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
      DecompressedInputs inputs(paths, dir, split);
      try {
        if (builder == "text") builders::build_text(inputs.paths(), opts, path, fp);
        else if (builder == "csv") builders::build_csv(inputs.paths(), opts, path, fp);
        else if (builder == "parquet") builders::build_parquet(inputs.paths(), opts, path, fp);
        else builders::build_json(inputs.paths(), opts, path, fp);
      } catch (const InputError& e) {
        throw InputError(inputs.name_originals(e.what()));
      }
    } else {
      log_debug("load_dataset: cache hit for " + relative + " split " + split + " (fingerprint " + fp + "): " + path);
    }
    out[split] = Dataset::from_files({path}, fp);
  }
  return out;
}

DatasetDict load_dataset_folder(const std::string& dir, const std::string& config_name, const LoadOptions& options) {
  return load_dataset(resolve_dataset_folder(dir, config_name, options));
}

LoadOptions resolve_dataset_folder(const std::string& dir, const std::string& config_name, const LoadOptions& options) {
  const fs::path base = fs::path(dir).lexically_normal();
  const std::string name = (base.has_filename() ? base.filename() : base.parent_path().filename()).string();
  std::error_code ec;
  if (fs::is_regular_file(base / (name + ".py"), ec))
    throw InputError((base / (name + ".py")).string(), "a dataset loading script; scripts are not run here (datasets "
                                                      "4 stopped running them too): load its data files instead");
  const std::string card_file = (base / "README.md").string();
  const std::vector<MetadataConfig> configs = metadata_configs(dataset_card_data(dir), card_file);
  DataFiles files;
  Json params = Json::object();
  std::string module_where = dir;
  InferredModule module;
  if (!configs.empty()) {
    const MetadataConfig* chosen = nullptr;
    std::vector<std::string> names;
    for (const auto& c : configs) names.push_back(c.name);
    const std::optional<std::string> wanted = config_name.empty() ? default_config_name(configs, card_file)
                                                                  : std::optional<std::string>(config_name);
    if (!wanted)
      throw InputError(card_file, "several configurations and none is the default: name one of " + join(names, ", ") +
                                      " (--dataset_config_name)");
    for (const auto& c : configs)
      if (c.name == *wanted) chosen = &c;
    if (!chosen)
      throw InputError(card_file, "no configuration " + quote(*wanted) + "; the card declares " + join(names, ", "));
    auto config_files = [&](const MetadataConfig& c) {
      const std::string at = card_file + ": configs " + quote(c.name);
      const Json data_dir = c.params.value("data_dir", Json());
      const fs::path config_base = data_dir.is_string() ? base / data_dir.get<std::string>() : base;
      const Json data_files = c.params.value("data_files", Json());
      return data_files.is_null() ? get_data_files(config_base.string())
                                  : resolve_data_file_patterns(config_base.string(), data_files, at);
    };
    // As datasets: one builder for every configuration, inferred from the first one's data_files (resolved in the
    // folder itself) when it has them, else from the folder's default patterns; its default parameters (.tsv: sep)
    // apply to the chosen configuration, whose files must be of that builder.
    const MetadataConfig& first = configs.front();
    const Json first_files = first.params.value("data_files", Json());
    const InferredModule first_module = infer_module_for_data_files(
        first_files.is_null() ? get_data_files(dir) : resolve_data_file_patterns(dir, first_files, card_file),
        card_file);
    module = infer_module_for_data_files(config_files(*chosen), card_file + ": configs " + quote(chosen->name));
    if (module.builder != first_module.builder)
      throw InputError(card_file, "configuration " + quote(chosen->name) + " holds " + module.builder + " files, but "
                                  "datasets reads every configuration with the first one's builder (" +
                                  first_module.builder + ")");
    module.default_kwargs = first_module.default_kwargs;
    for (const auto& [k, v] : chosen->params.items())
      if (k != "default" && k != "data_files" && k != "data_dir") params[k] = v;
    module_where = card_file + ": configs " + quote(chosen->name);
  } else {
    if (!config_name.empty() && config_name != "default")
      throw InputError(dir, "no configuration " + quote(config_name) +
                                ": the folder declares no configs (its README.md "
                                "has no `configs`), so its only configuration is \"default\"");
    module = infer_module_for_data_files(get_data_files(dir), dir);
  }
  files = module.files;
  Json kwargs = module.default_kwargs;
  kwargs.update(params);

  static const std::map<std::string, std::string> kBuilders = {
      {"csv", "csv"}, {"json", "json"}, {"parquet", "parquet"}, {"arrow", "arrow"}, {"text", "text"}};
  if (!kBuilders.count(module.builder))
    throw InputError(dir, "its files are for datasets' " + module.builder + " builder (images, audio, video, pdf, "
                          "webdataset or xml), which this library does not read; it reads text, json, csv, parquet "
                          "and arrow files");
  LoadOptions lo = options;
  lo.builder = module.builder;
  lo.data_files.clear();
  for (const auto& [split, list] : files) {
    if (list.empty()) throw InputError(module_where, "split " + quote(split) + " has no " + module.builder + " files");
    // Compressed files (.csv.gz) are decompressed by load_dataset, or read through a decoder when streamed.
    lo.data_files[split] = list;
  }
  // The packaged builders' parameters this library applies; any other would change the rows silently.
  for (const auto& [k, v] : kwargs.items()) {
    const std::string at = module_where + ": " + k;
    if ((k == "sep" || k == "delimiter") && module.builder == "csv") {
      if (!v.is_string() || v.get<std::string>().size() != 1)
        throw InputError(at, "expected a one-character separator, got " + v.dump());
      lo.csv_delimiter = v.get<std::string>()[0];
    } else if (k == "field" && module.builder == "json") {
      if (!v.is_string()) throw InputError(at, "expected a key name, got " + v.dump());
      lo.field = v.get<std::string>();
    } else if (k == "sample_by" && module.builder == "text") {
      if (!v.is_string()) throw InputError(at, "expected line, paragraph or document, got " + v.dump());
      lo.sample_by = v.get<std::string>();
    } else if (k == "keep_linebreaks" && module.builder == "text") {
      if (!v.is_boolean()) throw InputError(at, "expected true or false, got " + v.dump());
      lo.keep_linebreaks = v.get<bool>();
    } else {
      throw InputError(at, "the " + module.builder + " builder parameter " + quote(k) + " is not applied here "
                           "(supported: csv sep/delimiter, json field, text sample_by/keep_linebreaks)");
    }
  }
  return lo;
}

}  // namespace tcpp::datasets
