// Fuzz target: a dataset folder's README.md as load_dataset_folder reads it: the YAML front matter (libyaml events
// built into JSON, anchors and aliases expanded under bounds), its `configs`, the default configuration, and the
// configurations' data_files patterns as globs.
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/data_files.h"
#include "tcpp/datasets/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const tcpp::Json card = tcpp::datasets::parse_dataset_card(text, "README.md");
    const auto configs = tcpp::datasets::metadata_configs(card, "README.md");
    (void)tcpp::datasets::default_config_name(configs, "README.md");
    for (const auto& c : configs) {
      const tcpp::Json files = c.params.value("data_files", tcpp::Json());
      std::vector<std::string> patterns;
      if (files.is_string()) patterns.push_back(files.get<std::string>());
      if (files.is_array())
        for (const auto& e : files) {
          if (e.is_string()) patterns.push_back(e.get<std::string>());
          if (e.is_object() && e.contains("path") && e["path"].is_string())
            patterns.push_back(e["path"].get<std::string>());
        }
      for (const auto& p : patterns) (void)tcpp::datasets::glob_match(p, "data/train-00000-of-00001.parquet");
    }
  } catch (const tcpp::Error&) {
  }
  // The YAML reader alone, on the whole input (no front matter needed).
  try {
    (void)tcpp::datasets::parse_yaml(text, "fuzz.yaml");
  } catch (const tcpp::Error&) {
  }
  return 0;
}
