// Hugging Face cache lookup (huggingface_hub's cache layout, read-only, no network).
#include "tcpp/models/hub.h"

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"

namespace tcpp::models {
namespace fs = std::filesystem;
namespace {

std::string hub_cache_dir() {
  if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) return c;
  if (const char* c = std::getenv("HUGGINGFACE_HUB_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HF_HOME"); h && *h) return (fs::path(h) / "hub").string();
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "huggingface" / "hub").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home ? home : ".") / ".cache" / "huggingface" / "hub").string();
}

}  // namespace

std::string resolve_model_path(const std::string& name_or_path, const std::string& revision,
                               const std::string& cache_dir) {
  if (fs::is_directory(name_or_path)) return name_or_path;
  static const std::regex hub_id(R"(^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$)");
  const std::string no_network =
      "; there is no network download here: fetch it once with Python (huggingface-cli download " + name_or_path +
      ") or pass a local folder written by save_pretrained";
  if (!std::regex_match(name_or_path, hub_id) || name_or_path.find("..") != std::string::npos)
    throw InputError(name_or_path, "no such folder" + no_network);
  std::string cache = cache_dir.empty() ? hub_cache_dir() : cache_dir;
  // models--org--name: '/' becomes "--".
  std::string repo_dir_name = std::regex_replace("models--" + name_or_path, std::regex("/"), "--");
  fs::path repo = fs::path(cache) / repo_dir_name;
  if (!fs::is_directory(repo))
    throw InputError(name_or_path, "not a local folder and not in the Hugging Face cache (" + repo.string() + ")" +
                                       no_network);
  std::string commit = revision;
  fs::path ref = repo / "refs" / revision;
  if (fs::is_regular_file(ref)) commit = trim(read_file(ref.string()));
  fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot))
    throw InputError(name_or_path, "revision " + quote(revision) + " is not in the Hugging Face cache (" +
                                       snapshot.string() + ")" + no_network);
  return snapshot.string();
}

}  // namespace tcpp::models
