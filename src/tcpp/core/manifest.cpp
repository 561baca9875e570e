// Folder manifests: sizes and xxh64 hashes of every file, checked before a folder's contents are trusted.
#include "tcpp/core/manifest.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"

namespace tcpp {
namespace fs = std::filesystem;

std::string file_xxh64(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw InputError(path, "cannot open for hashing");
  std::unique_ptr<XXH64_state_t, XXH_errorcode (*)(XXH64_state_t*)> state(XXH64_createState(), &XXH64_freeState);
  XXH64_reset(state.get(), 0);
  std::vector<char> buf(1 << 20);
  while (size_t n = std::fread(buf.data(), 1, buf.size(), f.get())) XXH64_update(state.get(), buf.data(), n);
  if (std::ferror(f.get())) throw InputError(path, "read error while hashing");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64_digest(state.get())));
  return hex;
}

void write_manifest(const std::string& dir, const std::string& name) {
  Json files = Json::object();
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), dir).generic_string();
    if (rel == name) continue;
    files[rel] = {{"size", static_cast<int64_t>(entry.file_size())}, {"xxh64", file_xxh64(entry.path().string())}};
  }
  Json manifest = {{"format", "tcpp-manifest-1"}, {"files", files}};
  write_file_atomic((fs::path(dir) / name).string(), manifest.dump(2) + "\n");
}

void verify_manifest(const std::string& dir, const std::string& name) {
  const fs::path manifest_path = fs::path(dir) / name;
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) return;
  const Json manifest = read_json_file(manifest_path.string());
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_object())
    throw InputError(manifest_path.string(), "expected a manifest with a \"files\" object");
  const std::string advice = "; the folder is damaged: delete " + dir + " to resume from an earlier checkpoint";
  for (const auto& [rel, info] : manifest["files"].items()) {
    const fs::path path = fs::path(dir) / rel;
    if (!info.is_object() || !info.contains("size") || !info.contains("xxh64") || !info["size"].is_number_unsigned() ||
        !info["xxh64"].is_string())
      throw InputError(manifest_path.string(), "entry \"" + rel + "\" lacks an integer \"size\" and a string \"xxh64\", found " +
                                                   info.dump());
    const fs::path relative(rel);
    if (relative.empty() || relative.is_absolute() ||
        std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; }))
      throw InputError(manifest_path.string(), "entry \"" + rel + "\" is not a path inside the folder");
    if (!fs::exists(path, ec)) throw InputError(path.string(), "missing (listed in " + name + ")" + advice);
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    const auto expected_size = info["size"].get<int64_t>();
    if (size != expected_size)
      throw InputError(path.string(), "has " + std::to_string(size) + " bytes, " + name + " recorded " +
                                          std::to_string(expected_size) + advice);
    const std::string hash = file_xxh64(path.string());
    if (hash != info["xxh64"].get<std::string>())
      throw InputError(path.string(), "content differs from " + name + " (xxh64 " + hash + ", recorded " +
                                          info["xxh64"].get<std::string>() + ")" + advice);
  }
}

}  // namespace tcpp
