// huggingface_hub's local cache, read-only and offline: the cache folder and a repository's snapshot at a revision
// (<cache>/<type>s--org--name/snapshots/<commit>, with refs/<branch or tag> naming the commit).
#pragma once

#include <optional>
#include <string>

namespace tcpp {

/// The cache huggingface_hub downloads into: $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub,
/// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hf_hub_cache_dir();

/// Whether id reads as a Hub repository id ("gpt2", "org/name": letters, digits, '-', '_', '.', never "..").
bool is_hub_repo_id(const std::string& id);

/// Where a repository's snapshot is, or why not.
struct HubSnapshot {
  std::optional<std::string> dir;  // the snapshot folder when it is there
  std::string repo_dir;            // <cache>/<type>s--org--name, searched
  std::string missing;             // empty, "repository" or "revision"
};

/// Look up repo_id ("model" or "dataset" repo_type) at revision ("main", another branch or tag in refs/, or a
/// commit hash) in cache_dir (empty: hf_hub_cache_dir()). Never throws for a missing repository or revision.
HubSnapshot find_hub_snapshot(const std::string& repo_type, const std::string& repo_id,
                              const std::string& revision = "main", const std::string& cache_dir = "");

}  // namespace tcpp
