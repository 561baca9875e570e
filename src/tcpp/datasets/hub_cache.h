// load_dataset("org/name", "config") offline, as datasets 3.x does without the Hub (CachedDatasetModuleFactory and
// the "cache" packaged builder): the Arrow files a Python load_dataset left in the datasets cache, memory-mapped.
#pragma once

#include <string>

#include "tcpp/datasets/dataset.h"
#include "tcpp/core/json.h"

namespace tcpp::datasets {

/// The datasets cache Python uses: $HF_DATASETS_CACHE, else $HF_HOME/datasets, else
/// $XDG_CACHE_HOME/huggingface/datasets, else ~/.cache/huggingface/datasets.
std::string hf_datasets_cache_dir();

/// One prepared configuration in the cache: <cache>/<namespace>___<name>/<config>/<version>/<hash>/.
struct CachedDatasetLocation {
  std::string dir;
  std::string config_name;
  std::string version;
  std::string hash;
};

/// Find the configuration datasets' _find_hash_in_cache picks: config_name's folder (any configuration when empty,
/// as long as only one was prepared at the most recent version and hash), the most recently modified one whose
/// dataset_info.json names that configuration. Folders left by an interrupted preparation (".incomplete", no
/// dataset_info.json) are skipped. Throws InputError naming the name, the folder searched and the configurations
/// that are cached, and saying there is no network download.
CachedDatasetLocation find_cached_dataset(const std::string& name, const std::string& config_name = "",
                                          const std::string& cache_dir = "");

/// Every split of a cached configuration, as datasets' Cache builder reads it: the files
/// <dataset>-<split>.arrow or <dataset>-<split>-SSSSS-of-NNNNN.arrow its dataset_info.json lists (shard_lengths),
/// memory-mapped. Throws InputError naming the file when one is missing or holds another number of rows than
/// dataset_info.json says.
DatasetDict load_cached_dataset(const std::string& name, const CachedDatasetLocation& where);

/// The dataset_info.json of a cached configuration (builder_name, config_name, splits, features, ...).
Json cached_dataset_info(const CachedDatasetLocation& where);

}  // namespace tcpp::datasets
