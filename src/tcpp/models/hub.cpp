// Hugging Face cache lookup (huggingface_hub's cache layout, read-only, no network).
#include "tcpp/models/hub.h"

#include <filesystem>

#include "tcpp/core/error.h"
#include "tcpp/core/hf_hub.h"
#include "tcpp/core/strings.h"

namespace tcpp::models {

std::string resolve_model_path(const std::string& name_or_path, const std::string& revision,
                               const std::string& cache_dir) {
  if (std::filesystem::is_directory(name_or_path)) return name_or_path;
  const std::string no_network =
      "; there is no network download here: fetch it once with Python (huggingface-cli download " + name_or_path +
      ") or pass a local folder written by save_pretrained";
  if (!is_hub_repo_id(name_or_path)) throw InputError(name_or_path, "no such folder" + no_network);
  const HubSnapshot found = find_hub_snapshot("model", name_or_path, revision, cache_dir);
  if (found.missing == "repository")
    throw InputError(name_or_path, "not a local folder and not in the Hugging Face cache (" + found.repo_dir + ")" +
                                       no_network);
  if (found.missing == "revision")
    throw InputError(name_or_path, "revision " + quote(revision) + " is not in the Hugging Face cache (" +
                                       found.repo_dir + ")" + no_network);
  return *found.dir;
}

}  // namespace tcpp::models
