// Dataset card metadata (as datasets' utils/metadata.py with huggingface_hub's DatasetCard): the YAML front matter of
// a dataset folder's README.md, merged with its .huggingface.yaml, and the `configs` it declares.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::datasets {

/// Parse one YAML document into JSON values, resolving plain scalars as PyYAML's safe_load does (YAML 1.1: null,
/// booleans such as yes/off, integers, floats with a dot; anything else a string; quoted scalars stay strings).
/// An empty document is null. Throws InputError "<where>:<line>:<column>: <problem>".
Json parse_yaml(const std::string& text, const std::string& where);

/// The card data in a README.md's text: its front matter (between the leading "---" lines) as a mapping; an empty
/// object when there is none. Throws InputError naming `where` when the YAML is malformed or not a mapping.
Json parse_dataset_card(const std::string& readme_text, const std::string& where);

/// The card data of a dataset folder: README.md's front matter (between the leading "---" lines) updated with
/// .huggingface.yaml's keys; an empty object when there is neither. Throws InputError naming the file when its YAML
/// is malformed or not a mapping.
Json dataset_card_data(const std::string& dir);

/// One entry of the card's `configs`: its name, and the rest of its fields (data_files, data_dir, default, builder
/// parameters such as sep).
struct MetadataConfig {
  std::string name;
  Json params = Json::object();
};

/// MetadataConfigs.from_dataset_card_data: the `configs` list in card order (empty when the card has none). Throws
/// InputError naming `where` and the entry when an entry is not a mapping with a config_name, or its data_files is not
/// a pattern, a list of patterns or a list of {split, path} mappings.
std::vector<MetadataConfig> metadata_configs(const Json& card, const std::string& where);

/// get_default_config_name: the only configuration, or the one named "default" or marked `default: true`; none when
/// several are declared without one. Throws InputError when more than one is marked.
std::optional<std::string> default_config_name(const std::vector<MetadataConfig>& configs, const std::string& where);

}  // namespace tcpp::datasets
