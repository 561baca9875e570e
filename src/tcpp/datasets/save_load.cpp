// save_to_disk / load_from_disk in HF datasets' folder layout, and the Features JSON HF stores with tables
// (as datasets.arrow_dataset.Dataset.save_to_disk, DatasetDict.save_to_disk, features.Features.to_dict).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/dataset_internal.h"

namespace tcpp::datasets {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxShardSize = 500LL * 1000 * 1000;  // HF config.MAX_SHARD_SIZE "500MB"
constexpr int64_t kWriterBatchSize = 1000;

template <typename J>
J feature_json(const arrow::DataType& t) {
  auto value = [](const std::string& dtype) { return J{{"dtype", dtype}, {"_type", "Value"}}; };
  switch (t.id) {
    case arrow::TypeId::kNull: return value("null");
    case arrow::TypeId::kBool: return value("bool");
    case arrow::TypeId::kInt8: return value("int8");
    case arrow::TypeId::kInt16: return value("int16");
    case arrow::TypeId::kInt32: return value("int32");
    case arrow::TypeId::kInt64: return value("int64");
    case arrow::TypeId::kUInt8: return value("uint8");
    case arrow::TypeId::kUInt16: return value("uint16");
    case arrow::TypeId::kUInt32: return value("uint32");
    case arrow::TypeId::kUInt64: return value("uint64");
    case arrow::TypeId::kFloat16: return value("float16");
    case arrow::TypeId::kFloat32: return value("float32");
    case arrow::TypeId::kFloat64: return value("float64");
    case arrow::TypeId::kUtf8: return value("string");
    case arrow::TypeId::kLargeUtf8: return value("large_string");
    case arrow::TypeId::kBinary: return value("binary");
    case arrow::TypeId::kLargeBinary: return value("large_binary");
    case arrow::TypeId::kList: return {{"feature", feature_json<J>(t.value_type())}, {"_type", "List"}};
    case arrow::TypeId::kLargeList: return {{"feature", feature_json<J>(t.value_type())}, {"_type", "LargeList"}};
    case arrow::TypeId::kStruct: {
      J obj = J::object();
      for (const auto& f : t.children) obj[f.name] = feature_json<J>(f.type);
      return obj;
    }
    // datasets' dtypes: pyarrow's names, but "date32"/"date64" without their unit.
    case arrow::TypeId::kDate32: return value("date32");
    case arrow::TypeId::kDate64: return value("date64");
    case arrow::TypeId::kTime32:
    case arrow::TypeId::kTime64:
    case arrow::TypeId::kTimestamp:
    case arrow::TypeId::kDuration: return value(t.to_string());
  }
  return nullptr;
}

std::string shard_name(int i, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "data-%05d-of-%05d.arrow", i, n);
  return buf;
}

}  // namespace

Json features_json(const arrow::Schema& schema) {
  Json out = Json::object();
  for (const auto& f : schema.fields) out[f.name] = feature_json<Json>(f.type);
  return out;
}

arrow::KeyValueMetadata hf_schema_metadata(const arrow::Schema& schema, const std::string& fingerprint) {
  // Column order kept, as HF's ArrowWriter (json.dumps without sort_keys).
  OrderedJson features = OrderedJson::object();
  for (const auto& f : schema.fields) features[f.name] = feature_json<OrderedJson>(f.type);
  OrderedJson hf = {{"info", {{"features", features}}}};
  if (!fingerprint.empty()) hf["fingerprint"] = fingerprint;
  return {{"huggingface", hf.dump()}};
}

namespace {

// Refuse to save a dataset into the folder its own files are read from.
void check_not_own_source(const Dataset& d, const std::string& dir) {
  std::error_code ec;
  fs::path target = fs::weakly_canonical(dir, ec);
  for (const auto& f : d.cache_files())
    if (fs::weakly_canonical(fs::path(f).parent_path(), ec) == target)
      throw InputError(dir, "cannot save a dataset over the folder it is read from (" + f + "); save elsewhere");
}

// The files of a saved Dataset in `dir` (which exists): HF's layout.
void write_saved_dataset(const Dataset& d, const fs::path& dir, int num_shards) {
  std::error_code ec;
  int64_t n = d.num_rows();
  if (num_shards <= 0) {
    int64_t bytes = 0;
    for (const auto& f : d.cache_files()) bytes += static_cast<int64_t>(fs::file_size(f, ec));
    if (!d.cache_files().empty() && stored_rows(d) > 0) bytes = bytes * n / stored_rows(d);
    num_shards = static_cast<int>(bytes / kMaxShardSize + 1);
  }
  num_shards = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_shards, std::max<int64_t>(n, 1))));

  arrow::Schema out_schema = d.schema();
  out_schema.metadata = hf_schema_metadata(out_schema, d.fingerprint());
  Json data_files = Json::array();
  for (int i = 0; i < num_shards; ++i) {
    int64_t div = n / num_shards, mod = n % num_shards;
    int64_t begin = div * i + std::min<int64_t>(i, mod), end = begin + div + (i < mod ? 1 : 0);
    std::string name = shard_name(i, num_shards);
    auto writer = arrow::IpcWriter::open((dir / name).string(), out_schema);  // fsynced before its rename
    for (int64_t s = begin; s < end; s += kWriterBatchSize) {
      int64_t e = std::min(end, s + kWriterBatchSize);
      std::vector<arrow::Array> columns;
      for (size_t c = 0; c < out_schema.fields.size(); ++c) {
        arrow::ArrayBuilder b(out_schema.fields[c].type);
        gather_rows(d, c, s, e, b);
        columns.push_back(b.finish());
      }
      writer->write_batch(columns);
    }
    writer->close();
    data_files.push_back({{"filename", name}});
  }
  // The format travels with the data, as HF's state.json (null when python objects).
  Json format_columns = d.format_columns().empty() ? Json(nullptr) : Json(d.format_columns());
  Json format_type = d.format_type().empty() ? Json(nullptr) : Json(d.format_type());
  Json state = {{"_data_files", data_files},       {"_fingerprint", d.fingerprint()}, {"_format_columns", format_columns},
                {"_format_kwargs", Json::object()}, {"_format_type", format_type},  {"_output_all_columns", d.output_all_columns()},
                {"_split", nullptr}};
  Json info = {{"builder_name", nullptr},  {"citation", ""},          {"config_name", nullptr},
               {"dataset_name", nullptr},  {"dataset_size", nullptr}, {"description", ""},
               {"download_checksums", nullptr}, {"download_size", nullptr}, {"features", features_json(out_schema)},
               {"homepage", ""},           {"license", ""},           {"post_processed", nullptr},
               {"post_processing_size", nullptr}, {"size_in_bytes", nullptr}, {"splits", nullptr},
               {"supervised_keys", nullptr}, {"version", nullptr}};
  write_file_atomic((dir / "dataset_info.json").string(), dump_json_python(info, 2));
  write_file_atomic((dir / "state.json").string(), dump_json_python(state, 2));
}

// data-00000-of-00002.arrow, possibly followed by a suffix (our batch index, a killed writer's temp file).
bool shard_file_name(const std::string& name) {
  size_t i = 5;
  auto digits = [&] {
    const size_t from = i;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
    return i - from >= 5;
  };
  if (!starts_with(name, "data-") || !digits() || name.compare(i, 4, "-of-") != 0) return false;
  i += 4;
  return digits() && name.compare(i, 6, ".arrow") == 0;
}

// A name a save_to_disk folder holds, ours or Python's (with the lock, and a killed writer's temp files).
bool saved_dataset_entry(const std::string& name) {
  if (name == kLockFileName || shard_file_name(name)) return true;
  for (const char* json : {"state.json", "dataset_info.json", "dataset_dict.json"})
    if (name == json || starts_with(name, "." + std::string(json) + ".tmp.")) return true;  // write_file_atomic's
  return false;
}

// True when dir holds nothing but an earlier save (a Dataset's files, or a DatasetDict's: its json and split
// folders of a Dataset's files): the new save may then replace the folder whole.
bool holds_only_a_save(const fs::path& dir, int depth = 0) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool is_dir = it->is_directory(ec) && !it->is_symlink(ec);
    if (is_dir ? !(depth == 0 && holds_only_a_save(it->path(), 1)) : !saved_dataset_entry(name)) return false;
  }
  return !ec;
}

// save_to_disk's commit: the new folder is written whole beside the target (a hidden sibling, same file system),
// then swapped in, so that a save that fails (a full disk, a kill) leaves the earlier save as it was, and a reader
// never sees a mix of the two. Runs `write` on the staging folder while holding the target's lock; a second process
// saving into the same folder at the same time is refused with a message naming the holder.
void save_folder(const std::string& dir, const std::function<void(const fs::path&)>& write) {
  DirectoryLock lock = DirectoryLock::acquire(
      dir, "save_to_disk",
      "Two saves into one folder at once would mix their files: wait for it to finish, or save elsewhere");
  fs::path target = fs::absolute(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  const fs::path parent = target.parent_path();
  const std::string prefix = "." + target.filename().string() + ".tcpp-saving-";
  std::error_code ec;
  // Staging folders of earlier saves into this folder that were killed: no live save can own one, since a save
  // holds the lock we now hold.
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec))
    if (starts_with(it->path().filename().string(), prefix)) fs::remove_all(it->path(), ec);
  const fs::path staging = parent / (prefix + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()()));
  fs::create_directory(staging, ec);
  if (ec) throw InputError(staging.string(), "cannot create the staging folder of save_to_disk: " + ec.message());
  try {
    try {
      write(staging);
    } catch (const InputError& e) {  // name the files as the user knows them, not by the staging folder's name
      std::string message = e.what();
      for (size_t at; (at = message.find(staging.string())) != std::string::npos;)
        message.replace(at, staging.string().size(), target.string());
      throw InputError(message + " (save_to_disk abandoned: " + target.string() + " was left as it was)");
    }
    fsync_directory(staging.string());
    if (!fs::is_symlink(target, ec) && holds_only_a_save(target) &&
        ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_directory(parent.string());
      fs::remove_all(staging, ec);  // the earlier save, now under the staging name
      return;
    }
    // The folder holds other files too (kept, as HF keeps them), or the file system cannot swap folders: move the
    // new files in, state.json (or dataset_dict.json) last, after removing the old one first, so that the folder is
    // never read as a dataset while it holds a mix. The earlier save's shards the new one does not overwrite go.
    std::vector<fs::path> staged;
    for (fs::directory_iterator it(staging); it != fs::directory_iterator(); ++it) staged.push_back(it->path());
    auto is_marker = [](const fs::path& p) { return p.filename() == "state.json" || p.filename() == "dataset_dict.json"; };
    std::stable_partition(staged.begin(), staged.end(), [&](const fs::path& p) { return !is_marker(p); });
    for (const char* marker : {"state.json", "dataset_dict.json"}) fs::remove(target / marker, ec);
    for (fs::directory_iterator it(target, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (shard_file_name(name)) fs::remove(it->path(), ec);
    }
    for (const auto& p : staged) {
      const fs::path to = target / p.filename();
      if (fs::is_directory(p)) fs::remove_all(to, ec);
      fs::rename(p, to);
    }
    fsync_directory(target.string());
    fs::remove_all(staging, ec);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw InputError(e.path1().empty() ? dir : e.path1().string(), std::string("save_to_disk failed: ") + e.what());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
}

}  // namespace

void Dataset::save_to_disk(const std::string& dir, int num_shards) const {
  check_not_own_source(*this, dir);
  save_folder(dir, [&](const fs::path& folder) { write_saved_dataset(*this, folder, num_shards); });
}

Dataset Dataset::load_from_disk(const std::string& dir) {
  fs::path state_path = fs::path(dir) / "state.json";
  if (!fs::exists(state_path)) {
    if (fs::exists(fs::path(dir) / "dataset_dict.json"))
      throw InputError(dir, "is a DatasetDict folder (dataset_dict.json); load it with load_dataset_dict_from_disk");
    throw InputError(dir, "not a saved dataset: no state.json");
  }
  Json state = read_json_file(state_path.string());
  auto files = state.find("_data_files");
  if (files == state.end() || !files->is_array() || files->empty())
    throw InputError(state_path.string(), "expected a non-empty \"_data_files\" list");
  std::vector<std::string> paths;
  for (const auto& f : *files) {
    if (!f.is_object() || !f.contains("filename") || !f["filename"].is_string())
      throw InputError(state_path.string(), "\"_data_files\" entries need a \"filename\" string, got " + f.dump());
    std::string name = f["filename"].get<std::string>();
    if (name.find('/') != std::string::npos || name == "..")
      throw InputError(state_path.string(), "\"_data_files\" filename " + name + " must be a plain file name");
    paths.push_back((fs::path(dir) / name).string());
  }
  std::string fp;
  if (state.contains("_fingerprint") && state["_fingerprint"].is_string()) fp = state["_fingerprint"].get<std::string>();
  Dataset d = from_files(paths, fp);
  // HF's _format_type / _format_columns: a format this library cannot apply is an error, not silently dropped.
  const auto type = state.find("_format_type");
  if (type != state.end() && !type->is_null()) {
    if (!type->is_string()) throw InputError(state_path.string(), "\"_format_type\" must be a string or null, got " + type->dump());
    std::vector<std::string> columns;
    const auto cols = state.find("_format_columns");
    if (cols != state.end() && !cols->is_null()) {
      if (!cols->is_array()) throw InputError(state_path.string(), "\"_format_columns\" must be a list or null, got " + cols->dump());
      for (const auto& c : *cols) {
        if (!c.is_string()) throw InputError(state_path.string(), "\"_format_columns\" entries must be strings, got " + c.dump());
        columns.push_back(c.get<std::string>());
      }
    }
    const auto all = state.find("_output_all_columns");
    const bool output_all = all != state.end() && all->is_boolean() && all->get<bool>();
    const std::string t = type->get<std::string>();
    if (t != "torch" && t != "python")
      log_warning(state_path.string() + ": \"_format_type\" " + quote(t) + " is not supported here (torch, python); "
                  "the dataset is opened without a format");
    else
      try {
        d.set_format(t, columns, output_all);
      } catch (const InputError& e) {
        throw InputError(state_path.string(), e.what());
      }
  }
  return d;
}

void save_to_disk(const DatasetDict& dict, const std::string& dir) {
  for (const auto& [name, ds] : dict) check_not_own_source(ds, (fs::path(dir) / name).string());
  save_folder(dir, [&](const fs::path& folder) {
    Json splits = Json::array();
    for (const auto& [name, ds] : dict) {
      const fs::path split = folder / name;
      std::error_code ec;
      fs::create_directory(split, ec);
      if (ec) throw InputError(split.string(), "cannot create folder: " + ec.message());
      write_saved_dataset(ds, split, 0);
      splits.push_back(name);
    }
    write_file_atomic((folder / "dataset_dict.json").string(), dump_json_python(Json{{"splits", splits}}, -1));
  });
}

DatasetDict load_dataset_dict_from_disk(const std::string& dir) {
  fs::path p = fs::path(dir) / "dataset_dict.json";
  if (!fs::exists(p)) throw InputError(dir, "not a saved DatasetDict: no dataset_dict.json");
  Json j = read_json_file(p.string());
  if (!j.contains("splits") || !j["splits"].is_array())
    throw InputError(p.string(), "expected a \"splits\" list, got " + j.dump());
  DatasetDict out;
  for (const auto& s : j["splits"]) {
    if (!s.is_string()) throw InputError(p.string(), "split names must be strings, got " + s.dump());
    std::string name = s.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "..")
      throw InputError(p.string(), "invalid split name \"" + name + "\"");
    out[name] = Dataset::load_from_disk((fs::path(dir) / name).string());
  }
  return out;
}

}  // namespace tcpp::datasets
