// Data files of a dataset folder by split (as datasets' data_files.py): the default split patterns, the patterns a
// card's `configs` give, fsspec-style globs, and the packaged builder their extensions pick (load.py's
// infer_module_for_data_files).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::datasets {

/// Split name -> files (absolute paths), splits in datasets' order.
using DataFiles = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// Whether a relative POSIX path matches an fsspec glob: '*' and '?' within one folder, "[...]" (with '!'
/// negation) a character class, "**" as a whole path part any number of folders (none included). Time grows
/// with pattern length × path length, never more.
bool glob_match(const std::string& pattern, const std::string& path);

/// Whether a split name is one datasets accepts, ^\w+(\.\w+)*$ with ASCII word characters ("train",
/// "test.v2").
bool is_split_name(const std::string& name);

/// get_data_patterns + DataFilesDict.from_patterns for a folder without data_files: the first rule that finds
/// files wins: data/{split}-NNNNN-of-NNNNN*.* shards; split names (train/training, validation/valid/dev/val,
/// test/testing/eval/evaluation) as folder names, then in file names, set off by "-._ " or digits; else every
/// file as "train". Hidden files and folders, "__" folders, README.md, dataset_info.json and the like are
/// left out, and so are files whose extensions no datasets builder reads. Throws InputError naming the folder
/// when it holds no data file.
DataFiles get_data_files(const std::string& base_dir);

/// sanitize_patterns + DataFilesDict.from_patterns for a card's data_files (a pattern, a list of them, or a list of
/// {split, path}): each pattern resolved under base_dir, matches sorted, in pattern order. Throws InputError naming
/// `where` and the pattern when a pattern without wildcards matches nothing, or a split ends up with no file.
DataFiles resolve_data_file_patterns(const std::string& base_dir, const Json& data_files, const std::string& where);

/// The packaged builder the files' most common extension picks (ties: .parquet, .jsonl, .json, .csv, then
/// alphabetical), with its default parameters (".tsv": csv with sep "\t"), the same for every split, and the files
/// filtered to that builder's extensions. builder is datasets' module name ("csv", "json", "parquet", "arrow",
/// "text", or one this library does not read such as "imagefolder"). Throws InputError naming `where` when the
/// splits' extensions pick different builders or none.
struct InferredModule {
  std::string builder;
  Json default_kwargs = Json::object();
  DataFiles files;
};
InferredModule infer_module_for_data_files(const DataFiles& files, const std::string& where);

}  // namespace tcpp::datasets
