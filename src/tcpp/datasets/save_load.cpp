// save_to_disk / load_from_disk in HF datasets' folder layout, and the Features JSON HF stores with tables
// (as datasets.arrow_dataset.Dataset.save_to_disk, DatasetDict.save_to_disk, features.Features.to_dict).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
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
  auto value = [](const char* dtype) { return J{{"dtype", dtype}, {"_type", "Value"}}; };
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

void Dataset::save_to_disk(const std::string& dir, int num_shards) const {
  std::error_code ec;
  fs::path target = fs::weakly_canonical(dir, ec);
  for (const auto& f : cache_files())
    if (fs::weakly_canonical(fs::path(f).parent_path(), ec) == target)
      throw InputError(dir, "cannot save a dataset over the folder it is read from (" + f + "); save elsewhere");
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir, "cannot create folder: " + ec.message());

  int64_t n = num_rows();
  if (num_shards <= 0) {
    int64_t bytes = 0;
    for (const auto& f : cache_files()) bytes += static_cast<int64_t>(fs::file_size(f, ec));
    if (!cache_files().empty() && storage_->num_rows > 0) bytes = bytes * n / storage_->num_rows;
    num_shards = static_cast<int>(bytes / kMaxShardSize + 1);
  }
  num_shards = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_shards, std::max<int64_t>(n, 1))));

  arrow::Schema out_schema = schema();
  out_schema.metadata = hf_schema_metadata(out_schema, fingerprint_);
  Json data_files = Json::array();
  for (int i = 0; i < num_shards; ++i) {
    int64_t div = n / num_shards, mod = n % num_shards;
    int64_t begin = div * i + std::min<int64_t>(i, mod), end = begin + div + (i < mod ? 1 : 0);
    std::string name = shard_name(i, num_shards);
    auto writer = arrow::IpcWriter::open((fs::path(dir) / name).string(), out_schema);
    for (int64_t s = begin; s < end; s += kWriterBatchSize) {
      int64_t e = std::min(end, s + kWriterBatchSize);
      std::vector<arrow::Array> columns;
      for (size_t c = 0; c < columns_.size(); ++c) {
        arrow::ArrayBuilder b(out_schema.fields[c].type);
        gather_rows(*this, c, s, e, b);
        columns.push_back(b.finish());
      }
      writer->write_batch(columns);
    }
    writer->close();
    data_files.push_back({{"filename", name}});
  }
  // The format travels with the data, as HF's state.json (null when python objects).
  Json format_columns = format_columns_.empty() ? Json(nullptr) : Json(format_columns_);
  Json format_type = format_type_.empty() ? Json(nullptr) : Json(format_type_);
  Json state = {{"_data_files", data_files},       {"_fingerprint", fingerprint_}, {"_format_columns", format_columns},
                {"_format_kwargs", Json::object()}, {"_format_type", format_type},  {"_output_all_columns", output_all_columns_},
                {"_split", nullptr}};
  Json info = {{"builder_name", nullptr},  {"citation", ""},          {"config_name", nullptr},
               {"dataset_name", nullptr},  {"dataset_size", nullptr}, {"description", ""},
               {"download_checksums", nullptr}, {"download_size", nullptr}, {"features", features_json(out_schema)},
               {"homepage", ""},           {"license", ""},           {"post_processed", nullptr},
               {"post_processing_size", nullptr}, {"size_in_bytes", nullptr}, {"splits", nullptr},
               {"supervised_keys", nullptr}, {"version", nullptr}};
  write_file_atomic((fs::path(dir) / "dataset_info.json").string(), dump_json_python(info, 2));
  write_file_atomic((fs::path(dir) / "state.json").string(), dump_json_python(state, 2));
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
  Json splits = Json::array();
  for (const auto& [name, ds] : dict) {
    ds.save_to_disk((fs::path(dir) / name).string());
    splits.push_back(name);
  }
  write_file_atomic((fs::path(dir) / "dataset_dict.json").string(), dump_json_python(Json{{"splits", splits}}, -1));
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
