// Hugging Face cache lookup (huggingface_hub's cache layout, read-only, no network).
#include "tcpp/core/hf_hub.h"

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"

namespace tcpp {
namespace fs = std::filesystem;

std::string hf_hub_cache_dir() {
  if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) return c;
  if (const char* c = std::getenv("HUGGINGFACE_HUB_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HF_HOME"); h && *h) return (fs::path(h) / "hub").string();
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "huggingface" / "hub").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home ? home : ".") / ".cache" / "huggingface" / "hub").string();
}

bool is_hub_repo_id(const std::string& id) {
  static const std::regex hub_id(R"(^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$)");
  // The Hub's names are at most 96 characters; the length check first also keeps std::regex (which recurses
  // per character) off long arguments.
  return id.size() <= 2 * 96 + 1 && std::regex_match(id, hub_id) && id.find("..") == std::string::npos;
}

HubSnapshot find_hub_snapshot(const std::string& repo_type, const std::string& repo_id, const std::string& revision,
                              const std::string& cache_dir) {
  HubSnapshot out;
  // <type>s--org--name: '/' becomes "--".
  std::string name = repo_type + "s--" + repo_id;
  for (size_t at = name.find('/'); at != std::string::npos; at = name.find('/', at)) name.replace(at, 1, "--");
  const fs::path repo = fs::path(cache_dir.empty() ? hf_hub_cache_dir() : cache_dir) / name;
  out.repo_dir = repo.string();
  std::error_code ec;
  if (!fs::is_directory(repo, ec)) {
    out.missing = "repository";
    return out;
  }
  std::string commit = revision;
  const fs::path ref = repo / "refs" / revision;
  if (fs::is_regular_file(ref, ec)) commit = trim(read_file(ref.string()));
  const fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot, ec)) {
    out.missing = "revision";
    out.repo_dir = snapshot.string();
    return out;
  }
  out.dir = snapshot.string();
  return out;
}

}  // namespace tcpp
