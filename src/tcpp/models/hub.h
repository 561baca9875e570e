// Resolve model_name_or_path like transformers offline: a local folder, or a hub id ("gpt2", "org/name") found in the
// local Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub; models--org--name/snapshots/<rev>).
#pragma once

#include <string>

namespace tcpp::models {

/// The folder holding the files of name_or_path at revision ("main", another branch or tag in refs/, or a commit
/// hash). Throws InputError naming the id and the cache folder searched, and saying there is no network download.
/// A non-empty cache_dir replaces the default cache folder, as from_pretrained(cache_dir=...) does.
std::string resolve_model_path(const std::string& name_or_path, const std::string& revision = "main",
                               const std::string& cache_dir = "");

}  // namespace tcpp::models
