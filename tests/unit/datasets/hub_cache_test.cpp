// Hub dataset ids read from the datasets cache Python's load_dataset leaves (datasets 3.x's layout, offline).
#include "tcpp/datasets/hub_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/hf_hub.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/data_files.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;
using testing::TempDir;

// An Arrow stream file of one "text" column, in record batches of 2 rows, as datasets' ArrowWriter writes them.
void write_text_arrow(const fs::path& path, const std::vector<std::string>& rows) {
  arrow::Table t;
  t.schema.fields = {arrow::field("text", arrow::utf8())};
  for (size_t start = 0; start < rows.size(); start += 2) {
    arrow::ArrayBuilder text(arrow::utf8());
    for (size_t i = start; i < std::min(rows.size(), start + 2); ++i) text.append_string(rows[i]);
    arrow::RecordBatch b;
    b.num_rows = text.length();
    b.columns = {text.finish()};
    t.batches.push_back(std::move(b));
  }
  fs::create_directories(path.parent_path());
  arrow::write_ipc_file(path.string(), t, arrow::IpcFormat::kStream);
}

std::vector<std::string> rows(const std::string& tag, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(tag + " " + std::to_string(i));
  return out;
}

// dataset_info.json as DatasetInfo._dump_info writes it (asdict: splits keyed by name).
void write_info(const fs::path& dir, const std::string& config, const std::string& dataset_name, const Json& splits) {
  Json info = {{"description", ""},
               {"citation", ""},
               {"homepage", ""},
               {"license", ""},
               {"features", {{"text", {{"dtype", "string"}, {"_type", "Value"}}}}},
               {"builder_name", "parquet"},
               {"dataset_name", dataset_name},
               {"config_name", config},
               {"version", {{"version_str", "0.0.0"}, {"major", 0}, {"minor", 0}, {"patch", 0}}},
               {"splits", splits},
               {"download_checksums", Json::object()},
               {"download_size", 1000},
               {"dataset_size", 2000},
               {"size_in_bytes", 3000}};
  fs::create_directories(dir);
  write_file_atomic((dir / "dataset_info.json").string(), info.dump());
}

Json split_info(const std::string& name, int64_t n, const std::string& dataset_name, Json shard_lengths = nullptr) {
  return {{"name", name}, {"num_bytes", 10 * n}, {"num_examples", n}, {"shard_lengths", shard_lengths},
          {"dataset_name", dataset_name}};
}

// A prepared configuration <cache>/<folder>/<config>/0.0.0/<hash>/ with train/validation/test files.
fs::path prepare(const fs::path& cache, const std::string& folder, const std::string& config, const std::string& hash,
                 const std::string& file_prefix = "wikitext") {
  const fs::path dir = cache / folder / config / "0.0.0" / hash;
  Json splits = Json::object();
  for (const auto& [split, n] :
       std::vector<std::pair<std::string, int>>{{"train", 5}, {"validation", 3}, {"test", 2}}) {
    write_text_arrow(dir / (file_prefix + "-" + split + ".arrow"), rows(config + " " + split, n));
    splits[split] = split_info(split, n, file_prefix);
  }
  write_info(dir, config, file_prefix, splits);
  return dir;
}

std::vector<std::string> texts(const Dataset& d) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < d.num_rows(); ++i) out.push_back(d.row(i)["text"].get<std::string>());
  return out;
}

// Sets an environment variable for the scope of a test, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(HubCacheTest, LoadsEverySplitOfTheOnlyCachedConfiguration) {
  TempDir dir;
  prepare(dir.path(), "Salesforce___wikitext", "wikitext-2-raw-v1", "b08601e04326c79dfdd32d625aee71d232d685c3");
  const auto where = find_cached_dataset("Salesforce/wikitext", "", dir.path().string());
  EXPECT_EQ(where.config_name, "wikitext-2-raw-v1");
  EXPECT_EQ(where.version, "0.0.0");
  EXPECT_EQ(where.hash, "b08601e04326c79dfdd32d625aee71d232d685c3");
  const DatasetDict dd = load_cached_dataset("Salesforce/wikitext", where);
  ASSERT_EQ(dd.size(), 3u);
  EXPECT_EQ(texts(dd.at("train")), rows("wikitext-2-raw-v1 train", 5));
  EXPECT_EQ(texts(dd.at("validation")), rows("wikitext-2-raw-v1 validation", 3));
  EXPECT_EQ(texts(dd.at("test")), rows("wikitext-2-raw-v1 test", 2));
  // Memory-mapped in place, not copied: the dataset is backed by the cache's own files.
  ASSERT_EQ(dd.at("train").cache_files().size(), 1u);
  EXPECT_EQ(fs::path(dd.at("train").cache_files()[0]).filename(), "wikitext-train.arrow");
  EXPECT_EQ(cached_dataset_info(where)["builder_name"], "parquet");
}

TEST(HubCacheTest, CacheFolderComesFromTheEnvironmentAsInPython) {
  TempDir dir;
  prepare(dir.path() / "a", "wikitext", "plain", "h1");
  prepare(dir.path() / "b" / "datasets", "wikitext", "home", "h1");
  prepare(dir.path() / "c" / "huggingface" / "datasets", "wikitext", "xdg", "h1");
  ScopedEnv xdg("XDG_CACHE_HOME", (dir.path() / "c").string());
  ScopedEnv home("HF_HOME", (dir.path() / "b").string());
  {
    ScopedEnv cache("HF_DATASETS_CACHE", (dir.path() / "a").string());
    EXPECT_EQ(find_cached_dataset("wikitext").config_name, "plain");
  }
  ScopedEnv cache("HF_DATASETS_CACHE", std::nullopt);
  EXPECT_EQ(find_cached_dataset("wikitext").config_name, "home");
  ScopedEnv no_home("HF_HOME", std::nullopt);
  EXPECT_EQ(find_cached_dataset("wikitext").config_name, "xdg");
  // An explicit cache_dir (run_clm's --cache_dir) wins over all of them.
  EXPECT_EQ(find_cached_dataset("wikitext", "", (dir.path() / "a").string()).config_name, "plain");
}

TEST(HubCacheTest, CamelCaseNamesAreSnakeCasedAsDatasetsNamesFoldersAndFiles) {
  TempDir dir;
  prepare(dir.path(), "my-org___wiki_text103", "default", "h1", "wiki_text103");
  const auto where = find_cached_dataset("my-org/WikiText103", "", dir.path().string());
  EXPECT_EQ(load_cached_dataset("my-org/WikiText103", where).at("train").num_rows(), 5);
}

TEST(HubCacheTest, ShardedSplitsAreReadShardByShardInOrder) {
  TempDir dir;
  const fs::path d = dir.path() / "big" / "default" / "0.0.0" / "h1";
  write_text_arrow(d / "big-train-00000-of-00003.arrow", rows("a", 3));
  write_text_arrow(d / "big-train-00001-of-00003.arrow", rows("b", 2));
  write_text_arrow(d / "big-train-00002-of-00003.arrow", rows("c", 4));
  write_info(d, "default", "big", {{"train", split_info("train", 9, "big", Json::array({3, 2, 4}))}});
  const DatasetDict dd = load_cached_dataset("big", find_cached_dataset("big", "", dir.path().string()));
  std::vector<std::string> want = rows("a", 3);
  for (const auto& r : rows("b", 2)) want.push_back(r);
  for (const auto& r : rows("c", 4)) want.push_back(r);
  EXPECT_EQ(texts(dd.at("train")), want);
  EXPECT_EQ(dd.at("train").cache_files().size(), 3u);
}

TEST(HubCacheTest, SeveralConfigurationsOfOneRevisionNeedAConfigurationName) {
  TempDir dir;
  prepare(dir.path(), "wikitext", "wikitext-2-raw-v1", "h1");
  prepare(dir.path(), "wikitext", "wikitext-103-raw-v1", "h1");
  EXPECT_THAT([&] { find_cached_dataset("wikitext", "", dir.path().string()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("several configurations are cached"),
                                              HasSubstr("wikitext-103-raw-v1, wikitext-2-raw-v1"),
                                              HasSubstr("--dataset_config_name"))));
  const auto where = find_cached_dataset("wikitext", "wikitext-2-raw-v1", dir.path().string());
  EXPECT_EQ(texts(load_cached_dataset("wikitext", where).at("validation")), rows("wikitext-2-raw-v1 validation", 3));
  EXPECT_THAT([&] { find_cached_dataset("wikitext", "wikitext-2-v1", dir.path().string()); },
              ThrowsMessage<InputError>(
                  AllOf(HasSubstr("configuration \"wikitext-2-v1\" is not in the Hugging Face "
                                  "datasets cache"),
                        HasSubstr("cached configurations: wikitext-103-raw-v1, wikitext-2-raw-v1"),
                        HasSubstr("no network download"))));
}

TEST(HubCacheTest, TheMostRecentlyPreparedRevisionWins) {
  TempDir dir;
  const fs::path old_dir = prepare(dir.path(), "wikitext", "cfg", "old-sha");
  const fs::path new_dir = prepare(dir.path(), "wikitext", "other", "new-sha");
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(old_dir, now - std::chrono::hours(2));
  fs::last_write_time(new_dir, now - std::chrono::hours(1));
  // Different revisions: datasets takes the newest without asking for a configuration.
  EXPECT_EQ(find_cached_dataset("wikitext", "", dir.path().string()).hash, "new-sha");
  fs::last_write_time(old_dir, now);
  EXPECT_EQ(find_cached_dataset("wikitext", "", dir.path().string()).hash, "old-sha");
  EXPECT_EQ(find_cached_dataset("wikitext", "other", dir.path().string()).hash, "new-sha");
}

TEST(HubCacheTest, InterruptedPreparationsAreSkippedAndNamedWhenNothingElseIsThere) {
  TempDir dir;
  const fs::path done = prepare(dir.path(), "wikitext", "cfg", "h1");
  // datasets prepares into <hash>.incomplete and renames it when done; a kill leaves the folder without its info.
  write_text_arrow(dir.path() / "wikitext" / "cfg" / "0.0.0" / "h2.incomplete" / "wikitext-train.arrow", rows("x", 1));
  fs::last_write_time(done, fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(find_cached_dataset("wikitext", "", dir.path().string()).hash, "h1");
  fs::remove_all(done);
  EXPECT_THAT([&] { find_cached_dataset("wikitext", "", dir.path().string()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("no prepared configuration"),
                                              HasSubstr("h2.incomplete (no dataset_info.json: an interrupted "
                                                        "preparation)"))));
}

TEST(HubCacheTest, AConfigurationWithExtraParametersIsNotPickedByName) {
  TempDir dir;
  // load_dataset(name, data_dir=...) caches under "default-<hash>"; its info still says config_name "default".
  const fs::path d = prepare(dir.path(), "wikitext", "default-a1b2c3", "h1");
  write_info(d, "default", "wikitext", {{"train", split_info("train", 5, "wikitext")}});
  EXPECT_THAT([&] { find_cached_dataset("wikitext", "", dir.path().string()); },
              ThrowsMessage<InputError>(HasSubstr("no prepared configuration")));
}

TEST(HubCacheTest, MissingDatasetSaysThereIsNoDownloadAndWhereItLooked) {
  TempDir dir;
  EXPECT_THAT([&] { find_cached_dataset("Salesforce/wikitext", "wikitext-2-raw-v1", dir.path().string()); },
              ThrowsMessage<InputError>(AllOf(
                  HasSubstr("Salesforce/wikitext: not a local folder and not in the Hugging Face datasets cache (" +
                            (dir.path() / "Salesforce___wikitext").string() + ")"),
                  HasSubstr("no network download"),
                  HasSubstr("datasets.load_dataset(\"Salesforce/wikitext\", \"wikitext-2-raw-v1\")"))));
  EXPECT_THAT([&] { find_cached_dataset("../etc", "", dir.path().string()); },
              ThrowsMessage<InputError>(HasSubstr("not a Hugging Face dataset id")));
  EXPECT_THAT([&] { find_cached_dataset("wikitext", "a/b", dir.path().string()); },
              ThrowsMessage<InputError>(HasSubstr("configuration name \"a/b\"")));
}

TEST(HubCacheTest, DamagedCacheFilesAreNamed) {
  TempDir dir;
  const fs::path d = prepare(dir.path(), "wikitext", "cfg", "h1");
  const auto where = find_cached_dataset("wikitext", "", dir.path().string());
  // Fewer rows than dataset_info.json says.
  write_text_arrow(d / "wikitext-validation.arrow", rows("v", 2));
  EXPECT_THAT([&] { load_cached_dataset("wikitext", where); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("wikitext-validation.arrow: holds 2 rows of split "
                                                        "\"validation\""),
                                              HasSubstr("says 3"), HasSubstr("damaged"))));
  fs::remove(d / "wikitext-validation.arrow");
  EXPECT_THAT([&] { load_cached_dataset("wikitext", where); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("wikitext-validation.arrow: missing"),
                                              HasSubstr("incomplete"))));
  // A truncated Arrow file: the reader's error names it.
  write_text_arrow(d / "wikitext-validation.arrow", rows("wikitext-2 validation", 3));
  const std::string bytes = read_file((d / "wikitext-test.arrow").string());
  write_file_atomic((d / "wikitext-test.arrow").string(), bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT([&] { load_cached_dataset("wikitext", where); },
              ThrowsMessage<InputError>(HasSubstr("wikitext-test.arrow")));
  write_info(d, "cfg", "wikitext", Json::object());
  EXPECT_THAT([&] { load_cached_dataset("wikitext", where); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("dataset_info.json"), HasSubstr("\"splits\""))));
}

TEST(HubCacheTest, HubIdsAreNamesNotPaths) {
  EXPECT_TRUE(is_hub_repo_id("wikitext"));
  EXPECT_TRUE(is_hub_repo_id("Salesforce/wikitext"));
  EXPECT_TRUE(is_hub_repo_id("org-1/data_set.v2"));
  EXPECT_FALSE(is_hub_repo_id("a/b/c"));
  EXPECT_FALSE(is_hub_repo_id("/abs/path"));
  EXPECT_FALSE(is_hub_repo_id("./rel"));
  EXPECT_FALSE(is_hub_repo_id("a/../b"));
  EXPECT_FALSE(is_hub_repo_id(""));
  EXPECT_FALSE(is_hub_repo_id(std::string(100000, 'a')));  // no Hub name is that long (and no stack overflow)
}

// Split names are checked as datasets does (^\w+(\.\w+)*$), also when dataset_info.json holds a very long
// one.
TEST(HubCacheTest, SplitNamesOfTheDatasetInfoAreChecked) {
  EXPECT_TRUE(is_split_name("train"));
  EXPECT_TRUE(is_split_name("test.v2_1"));
  EXPECT_FALSE(is_split_name("train-1"));
  EXPECT_FALSE(is_split_name("a..b"));
  EXPECT_FALSE(is_split_name(".a"));
  EXPECT_FALSE(is_split_name(""));
  TempDir dir;
  const fs::path d = prepare(dir.path(), "wikitext", "cfg", "h1");
  const auto where = find_cached_dataset("wikitext", "", dir.path().string());
  const std::string long_name = std::string(100000, 'a') + "-";
  write_info(d, "cfg", "wikitext", Json{{long_name, {{"name", long_name}, {"num_examples", 1}}}});
  EXPECT_THAT([&] { load_cached_dataset("wikitext", where); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("dataset_info.json"), HasSubstr("must match"))));
}

}  // namespace
}  // namespace tcpp::datasets
