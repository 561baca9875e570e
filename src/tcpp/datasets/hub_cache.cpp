// The datasets cache read as datasets 3.x reads it offline (load.py's CachedDatasetModuleFactory,
// packaged_modules/cache/cache.py's _find_hash_in_cache, naming.py's file names), without Python.
#include "tcpp/datasets/hub_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/hf_hub.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/data_files.h"

namespace tcpp::datasets {
namespace fs = std::filesystem;
namespace {

// naming.camelcase_to_snakecase: "WikiText103" -> "wiki_text103": re.sub("([A-Z]+)([A-Z][a-z])", r"\1_\2"),
// then re.sub("([a-z\d])([A-Z])", r"\1_\2"), lower-cased (by hand: std::regex recurses per character).
std::string camelcase_to_snakecase(const std::string& name) {
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string first;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i > 0 && i + 1 < name.size() && upper(name[i - 1]) && upper(name[i]) && lower(name[i + 1]))
      first += '_';
    first += name[i];
  }
  std::string out;
  for (size_t i = 0; i < first.size(); ++i) {
    if (i > 0 && upper(first[i]) && (lower(first[i - 1]) || digit(first[i - 1]))) out += '_';
    out += first[i];
  }
  return to_lower(out);
}

std::string last_part(const std::string& name) {
  const auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// The folder under the cache: "org/Name" -> "org___name" (the namespace kept, the name snake-cased).
std::string cached_relative_path(const std::string& name) {
  std::vector<std::string> parts = split(name, '/');
  parts.back() = camelcase_to_snakecase(parts.back());
  return join(parts, "___");
}

std::string expand_user(const std::string& path) {
  if (path == "~" || starts_with(path, "~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  return path;
}

std::string load_hint(const std::string& name, const std::string& config_name) {
  return "; there is no network download here: load it once with Python (datasets.load_dataset(\"" + name + "\"" +
         (config_name.empty() ? std::string() : ", \"" + config_name + "\"") +
         ")), which leaves its Arrow files in that cache, or pass local data files or a save_to_disk folder";
}

struct Candidate {
  fs::path dir;
  std::string config, version, hash;
  fs::file_time_type mtime;
};

// Every prepared <config>/<version>/<hash> folder whose dataset_info.json names its configuration, as datasets'
// glob(root/*/*/*) filtered on info["config_name"] == the folder's config part. `skipped` counts the folders an
// interrupted or damaged preparation left (datasets 3.x would stop on them with a Python error).
std::vector<Candidate> prepared_configurations(const fs::path& root, std::vector<std::string>& skipped) {
  std::vector<Candidate> out;
  std::error_code ec;
  auto subdirs = [&](const fs::path& p) {
    std::vector<fs::path> dirs;
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  };
  for (const auto& config_dir : subdirs(root))
    for (const auto& version_dir : subdirs(config_dir))
      for (const auto& hash_dir : subdirs(version_dir)) {
        const fs::path info_path = hash_dir / "dataset_info.json";
        if (ends_with(hash_dir.filename().string(), ".incomplete") || !fs::is_regular_file(info_path, ec)) {
          skipped.push_back(hash_dir.string() + " (no dataset_info.json: an interrupted preparation)");
          continue;
        }
        Json info;
        try {
          info = read_json_file(info_path.string());
        } catch (const Error& e) {
          skipped.push_back(std::string(e.what()));
          continue;
        }
        const auto cfg = info.find("config_name");
        if (cfg == info.end() || !cfg->is_string() || cfg->get<std::string>() != config_dir.filename().string())
          continue;  // a configuration with extra parameters (config_id "name-<hash>"), never picked by name alone
        Candidate c{hash_dir, config_dir.filename().string(), version_dir.filename().string(),
                    hash_dir.filename().string(), fs::last_write_time(hash_dir, ec)};
        out.push_back(std::move(c));
      }
  return out;
}

}  // namespace

std::string hf_datasets_cache_dir() {
  if (const char* c = std::getenv("HF_DATASETS_CACHE"); c && *c) return expand_user(c);
  if (const char* h = std::getenv("HF_HOME"); h && *h) return (fs::path(expand_user(h)) / "datasets").string();
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return (fs::path(expand_user(x)) / "huggingface" / "datasets").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home ? home : ".") / ".cache" / "huggingface" / "datasets").string();
}

CachedDatasetLocation find_cached_dataset(const std::string& name, const std::string& config_name,
                                          const std::string& cache_dir) {
  if (!is_hub_repo_id(name))
    throw InputError(name, "no such folder, and not a Hugging Face dataset id (\"name\" or \"org/name\")");
  // BuilderConfig's check: a configuration name is one folder name.
  if (config_name.find_first_of("<>:/\\|?*") != std::string::npos || config_name == "." || config_name == "..")
    throw InputError(name, "configuration name " + quote(config_name) +
                               " holds a character a folder name cannot (<>:/\\|?*)");
  const fs::path root = fs::path(cache_dir.empty() ? hf_datasets_cache_dir() : expand_user(cache_dir)) /
                        cached_relative_path(name);
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw InputError(name, "not a local folder and not in the Hugging Face datasets cache (" + root.string() + ")" +
                               load_hint(name, config_name));
  std::vector<std::string> skipped;
  const std::vector<Candidate> all = prepared_configurations(root, skipped);
  std::vector<Candidate> matching;
  for (const auto& c : all)
    if (config_name.empty() || c.config == config_name) matching.push_back(c);
  if (matching.empty()) {
    std::set<std::string> available;
    for (const auto& c : all) available.insert(c.config);
    std::string msg = config_name.empty() ? "no prepared configuration in the Hugging Face datasets cache ("
                                          : "configuration " + quote(config_name) +
                                                " is not in the Hugging Face datasets cache (";
    msg += root.string() + ")";
    if (!available.empty())
      msg += "; cached configurations: " + join(std::vector<std::string>(available.begin(), available.end()), ", ");
    if (!skipped.empty()) msg += "; skipped: " + join(skipped, "; ");
    throw InputError(name, msg + load_hint(name, config_name));
  }
  // The most recently modified (datasets sorts on st_mtime and takes the last).
  const Candidate* pick = &matching.front();
  for (const auto& c : matching)
    if (c.mtime >= pick->mtime) pick = &c;
  if (config_name.empty()) {
    std::set<std::string> same_revision;
    for (const auto& c : all)
      if (c.version == pick->version && c.hash == pick->hash) same_revision.insert(c.config);
    if (same_revision.size() > 1)
      throw InputError(name, "several configurations are cached (" +
                                 join(std::vector<std::string>(same_revision.begin(), same_revision.end()), ", ") +
                                 "): name the one to load (--dataset_config_name " + *same_revision.begin() + ")");
  }
  for (const auto& s : skipped) log_warning("datasets cache: skipped " + s);
  return {pick->dir.string(), pick->config, pick->version, pick->hash};
}

Json cached_dataset_info(const CachedDatasetLocation& where) {
  const std::string path = (fs::path(where.dir) / "dataset_info.json").string();
  Json info = read_json_file(path);
  if (!info.is_object()) throw InputError(path, "expected a JSON object, got " + std::string(info.type_name()));
  return info;
}

DatasetDict load_cached_dataset(const std::string& name, const CachedDatasetLocation& where) {
  const std::string info_path = (fs::path(where.dir) / "dataset_info.json").string();
  const Json info = cached_dataset_info(where);
  const auto splits_it = info.find("splits");
  if (splits_it == info.end() || !(splits_it->is_object() || splits_it->is_array()) || splits_it->empty())
    throw InputError(info_path, "expected \"splits\" to list the prepared splits (the Cache builder needs them)");
  // SplitDict.from_split_dict takes {"train": {...}} as asdict writes it, or a list of split infos.
  std::vector<Json> split_infos;
  if (splits_it->is_object())
    for (const auto& [key, v] : splits_it->items()) {
      Json s = v;
      if (s.is_object() && !s.contains("name")) s["name"] = key;
      split_infos.push_back(std::move(s));
    }
  else
    split_infos.assign(splits_it->begin(), splits_it->end());
  // The Cache builder's dataset_name is the id's last part; its files are named with it snake-cased.
  const std::string prefix = camelcase_to_snakecase(last_part(name));
  DatasetDict out;
  for (const auto& s : split_infos) {
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string())
      throw InputError(info_path, "\"splits\": expected objects with a \"name\" string, got " + s.dump());
    const std::string split_name = s["name"].get<std::string>();
    if (!is_split_name(split_name))
      throw InputError(info_path, "split name " + quote(split_name) + " must match ^\\w+(\\.\\w+)*$");
    // naming.filenames_for_dataset_split: one file, or -SSSSS-of-NNNNN shards when shard_lengths has several.
    size_t shards = 1;
    if (const auto sl = s.find("shard_lengths"); sl != s.end() && sl->is_array() && sl->size() > 1) shards = sl->size();
    std::vector<std::string> files;
    for (size_t k = 0; k < shards; ++k) {
      char suffix[64];
      std::snprintf(suffix, sizeof suffix, "-%05zu-of-%05zu", k, shards);
      const fs::path file = fs::path(where.dir) / (prefix + "-" + split_name + (shards > 1 ? suffix : "") + ".arrow");
      std::error_code ec;
      if (!fs::is_regular_file(file, ec))
        throw InputError(file.string(), "missing: " + info_path + " lists split " + quote(split_name) + " in " +
                                            std::to_string(shards) + " file(s); the cache is incomplete (prepare it "
                                            "again with Python's datasets)");
      files.push_back(file.string());
    }
    Dataset ds = Dataset::from_files(files);
    if (const auto n = s.find("num_examples"); n != s.end() && n->is_number_integer() &&
                                               n->get<int64_t>() != ds.num_rows())
      throw InputError(files.front(), "holds " + std::to_string(ds.num_rows()) + " rows of split " +
                                          quote(split_name) + ", " + info_path + " says " +
                                          std::to_string(n->get<int64_t>()) + ": the cache is damaged (prepare it "
                                          "again with Python's datasets)");
    out[split_name] = std::move(ds);
  }
  return out;
}

}  // namespace tcpp::datasets
