// load_dataset for local files (as datasets.load_dataset with the packaged text/json builders): converts
// the files to Arrow stream files under cache_dir once, keyed by a fingerprint of the inputs, then maps them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tcpp/datasets/dataset.h"

namespace tcpp::datasets {

struct LoadOptions {
  /// "text", "json", "csv", "parquet" or "arrow" (IPC files used in place, no cache); empty infers it from the
  /// first file's extension (.txt, .json/.jsonl/.ndjson, .csv/.tsv, .parquet, .arrow), before a compression's
  /// (.gz, .bz2, .xz, .zst, .lz4). Compressed files (told by content, compression.h) are decompressed into the
  /// cache folder for the builder and removed once converted.
  std::string builder;
  /// Split name -> files; each entry may be a glob ("data/*.jsonl").
  std::map<std::string, std::vector<std::string>> data_files;
  /// Root of the Arrow cache; empty: $TCPP_DATASETS_CACHE, else $XDG_CACHE_HOME/tcpp/datasets, else ~/.cache/tcpp/datasets.
  std::string cache_dir;
  /// text: keep "\n" at the end of each row (run_clm passes true; the builder's default is false).
  bool keep_linebreaks = false;
  /// text: "line" (one row per line), "paragraph" (split on blank lines) or "document" (one row per file).
  std::string sample_by = "line";
  /// json: read the records from this key of a top-level object.
  std::string field;
  /// csv: the field delimiter (pandas' sep).
  char csv_delimiter = ',';
  /// Rows per record batch in the cache files.
  int64_t writer_batch_size = 1000;
};

/// Load every split of data_files. A second call with unchanged files (same paths, sizes, mtimes and
/// options) parses nothing and opens the cached Arrow files. Errors name the file and line.
DatasetDict load_dataset(const LoadOptions& options);

/// load_dataset(dir[, config_name]) for a local folder of data files, as datasets'
/// LocalDatasetModuleFactoryWithoutScript finds them: the `configs` of the folder's README.md /
/// .huggingface.yaml (the named one, else the default one), or without configs the default split patterns
/// (data_files.h); the builder from the files' extensions. options give the cache folder and the builder
/// options left at datasets' defaults (keep_linebreaks false); a configuration's parameters (sep, field,
/// sample_by, keep_linebreaks) override them. Throws InputError naming the folder, the card or the parameter:
/// a configuration that is not declared, several and none the default, a builder this library does not read
/// (images, audio, ...), a builder parameter it does not apply, or a dataset script (never run).
DatasetDict load_dataset_folder(const std::string& dir, const std::string& config_name, const LoadOptions& options);
/// What load_dataset_folder loads: the builder, each split's files and the builder options, to load or stream.
LoadOptions resolve_dataset_folder(const std::string& dir, const std::string& config_name, const LoadOptions& options);

/// The builder a file extension maps to ("text", "json"; "x.jsonl.gz": "json"), or "" when unknown.
std::string builder_for_extension(const std::string& path);

/// The csv delimiter for a split whose first file is first: a tab for a .tsv (compressed or not) when delimiter is
/// the default ','; otherwise delimiter.
char csv_delimiter_for(const std::string& first, char delimiter);

/// Expand globs in paths (sorted matches); a pattern without matches or a missing file throws InputError.
std::vector<std::string> resolve_data_files(const std::vector<std::string>& patterns);

}  // namespace tcpp::datasets
