// Local dataset folders as datasets 3.x loads them: split patterns, card YAML configs, builder inference.
#include "tcpp/datasets/data_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>

#include "tcpp/core/error.h"
#include "tcpp/datasets/load.h"
#include "tcpp/datasets/metadata.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;
using testing::write_file;

// Split -> file names relative to base, to compare.
std::vector<std::pair<std::string, std::vector<std::string>>> relative(const DataFiles& files, const fs::path& base) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [split, list] : files) {
    std::vector<std::string> names;
    for (const auto& f : list) names.push_back(fs::path(f).lexically_relative(base).generic_string());
    out.emplace_back(split, names);
  }
  return out;
}

using Splits = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::vector<std::string> texts(const Dataset& d, const std::string& column = "text") {
  std::vector<std::string> out;
  for (int64_t i = 0; i < d.num_rows(); ++i) out.push_back(d.row(i)[column].get<std::string>());
  return out;
}

TEST(DataFilesTest, GlobsFollowFsspec) {
  EXPECT_TRUE(glob_match("**/train[-._ 0-9]*", "train.csv"));
  EXPECT_TRUE(glob_match("**/train[-._ 0-9]*", "a/b/train-00001.txt"));
  EXPECT_FALSE(glob_match("**/train[-._ 0-9]*", "training.csv"));
  EXPECT_FALSE(glob_match("**/train[-._ 0-9]*", "train/x.csv"));
  EXPECT_TRUE(glob_match("**/*[-._ 0-9]dev[-._ 0-9]*", "wiki.dev.jsonl"));
  EXPECT_TRUE(glob_match("**/valid/**", "valid/x.txt"));
  EXPECT_TRUE(glob_match("**/valid/**", "a/valid/b/x.txt"));
  EXPECT_FALSE(glob_match("**/valid/**", "invalid/x.txt"));
  EXPECT_TRUE(glob_match("data/*.parquet", "data/a.parquet"));
  EXPECT_FALSE(glob_match("data/*.parquet", "data/x/a.parquet"));
  EXPECT_TRUE(glob_match("**", "a/b/c.txt"));
  EXPECT_TRUE(glob_match("a?c[!x].t(x)t", "abcd.t(x)t"));
  EXPECT_FALSE(glob_match("a?c[!x].txt", "abcx.txt"));
  EXPECT_TRUE(glob_match("[]a]x", "]x"));  // a leading ']' belongs to the class, as in fnmatch
  EXPECT_TRUE(glob_match("[!]]x", "ax"));
  EXPECT_FALSE(glob_match("[!]]x", "]x"));
  EXPECT_TRUE(glob_match("[a-c-]", "-"));
  EXPECT_FALSE(glob_match("[c-a]", "b"));  // an empty range matches nothing
  EXPECT_TRUE(glob_match("a[b", "a[b"));   // an unclosed '[' is itself
  // Long patterns and paths, and patterns that made std::regex backtrack for minutes, in time pattern × path.
  const std::string longest = "data/" + std::string(20000, 'a');
  EXPECT_TRUE(glob_match(longest, longest));
  EXPECT_TRUE(glob_match("data/*" + std::string(2000, 'a'), longest));
  EXPECT_FALSE(glob_match("data/" + std::string(200, '*') + "?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?x",
                          "data/train-00000-of-00001-0000000000-0000000000-0000000000.parquet"));
}

// The matcher against the translation to a regular expression it replaced (fsspec's glob as a regex, run by
// std::regex on short inputs only), on 20,000 random patterns and paths over the characters that matter.
std::string glob_as_regex(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    const bool part_start = i == 0 || pattern[i - 1] == '/';
    if (part_start && pattern.compare(i, 3, "**/") == 0) {
      out += "(?:.*/)?";
      i += 3;
    } else if (part_start && pattern.compare(i, 2, "**") == 0 && i + 2 == pattern.size()) {
      out += ".*";
      i += 2;
    } else if (pattern[i] == '*') {
      out += "[^/]*";
      while (i < pattern.size() && pattern[i] == '*') ++i;
    } else if (pattern[i] == '?') {
      out += "[^/]";
      ++i;
    } else if (pattern[i] == '[' &&
               pattern.find(']', i + 1) != std::string::npos) {  // no ']' first (see above)
      const size_t close = pattern.find(']', i + 1);
      std::string cls = pattern.substr(i + 1, close - i - 1);
      if (!cls.empty() && cls[0] == '!') cls[0] = '^';
      out += "[" + cls + "]";
      i = close + 1;
    } else {
      if (std::string("\\^$.|+(){}[]").find(pattern[i]) != std::string::npos) out += '\\';
      out += pattern[i++];
    }
  }
  return out;
}

TEST(DataFilesTest, GlobsMatchAsTheirRegularExpressions) {
  const std::string pattern_chars = "ab/*?[!-].", path_chars = "ab/.-";
  std::mt19937 rng(1201);
  int checked = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string pattern, path;
    for (size_t k = rng() % 9; k > 0; --k) pattern += pattern_chars[rng() % pattern_chars.size()];
    for (size_t k = rng() % 9; k > 0; --k) path += path_chars[rng() % path_chars.size()];
    if (pattern.find("[]") != std::string::npos || pattern.find("[!]") != std::string::npos) continue;
    std::regex re;
    try {
      re = std::regex(glob_as_regex(pattern));
    } catch (
        const std::regex_error&) {  // "[b-a]": std::regex refuses what the matcher takes as matching nothing
      continue;
    }
    ++checked;
    ASSERT_EQ(glob_match(pattern, path), std::regex_match(path, re)) << pattern << " on " << path;
  }
  EXPECT_GT(checked, 15000);
}

TEST(DataFilesTest, SplitNamesInFileNamesPickTheSplits) {
  TempDir dir;
  write_file(dir.path() / "train.csv", "text\na\n");
  write_file(dir.path() / "my_test.csv", "text\nb\n");
  write_file(dir.path() / "README.md", "# card\n");
  write_file(dir.path() / ".cache" / "train.csv", "text\nhidden\n");
  write_file(dir.path() / "__pycache__" / "test.csv", "text\nspecial\n");
  write_file(dir.path() / "notes.md", "not data\n");
  EXPECT_EQ(relative(get_data_files(dir.path().string()), dir.path()),
            (Splits{{"train", {"train.csv"}}, {"test", {"my_test.csv"}}}));
}

TEST(DataFilesTest, SplitFoldersWinOverSplitFileNames) {
  TempDir dir;
  write_file(dir.path() / "train" / "b.txt", "b\n");
  write_file(dir.path() / "train" / "a.txt", "a\n");
  write_file(dir.path() / "dev-set" / "c.txt", "c\n");
  write_file(dir.path() / "test.txt", "t\n");  // a split file name, but folder names were found first
  EXPECT_EQ(relative(get_data_files(dir.path().string()), dir.path()),
            (Splits{{"train", {"train/a.txt", "train/b.txt"}}, {"validation", {"dev-set/c.txt"}}}));
}

TEST(DataFilesTest, ShardedDataFolderNamesItsSplits) {
  TempDir dir;
  for (const char* f : {"data/train-00001-of-00002.parquet", "data/train-00000-of-00002.parquet",
                        "data/validation-00000-of-00001.parquet", "data/extra-00000-of-00001.parquet",
                        "other/test.csv"})
    write_file(dir.path() / f, "x");
  EXPECT_EQ(relative(get_data_files(dir.path().string()), dir.path()),
            (Splits{{"train", {"data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"}},
                    {"validation", {"data/validation-00000-of-00001.parquet"}},
                    {"extra", {"data/extra-00000-of-00001.parquet"}}}));
}

TEST(DataFilesTest, WithoutSplitNamesEveryDataFileIsTrain) {
  TempDir dir;
  write_file(dir.path() / "corpus.txt", "a\n");
  write_file(dir.path() / "more" / "part.txt", "b\n");
  write_file(dir.path() / "LICENSE", "no extension, not data\n");
  EXPECT_EQ(relative(get_data_files(dir.path().string()), dir.path()),
            (Splits{{"train", {"corpus.txt", "more/part.txt"}}}));
  TempDir empty;
  write_file(empty.path() / "README.md", "---\n---\n");
  EXPECT_THAT([&] { get_data_files(empty.path().string()); },
              ThrowsMessage<InputError>(HasSubstr("holds no data files")));
}

TEST(DataFilesTest, TheMostCommonExtensionPicksTheBuilder) {
  TempDir dir;
  for (const char* f : {"a.jsonl", "b.jsonl", "c.csv", "d.tsv"}) write_file(dir.path() / f, "x");
  auto m = infer_module_for_data_files(get_data_files(dir.path().string()), "here");
  EXPECT_EQ(m.builder, "json");
  EXPECT_EQ(relative(m.files, dir.path()), (Splits{{"train", {"a.jsonl", "b.jsonl"}}}));
  // Ties go to .parquet, then .jsonl, .json, .csv; .tsv is csv with a tab separator.
  TempDir tie;
  for (const char* f : {"a.csv", "b.parquet"}) write_file(tie.path() / f, "x");
  EXPECT_EQ(infer_module_for_data_files(get_data_files(tie.path().string()), "here").builder, "parquet");
  TempDir tsv;
  write_file(tsv.path() / "train.tsv", "x");
  auto t = infer_module_for_data_files(get_data_files(tsv.path().string()), "here");
  EXPECT_EQ(t.builder, "csv");
  EXPECT_EQ(t.default_kwargs, Json({{"sep", "\t"}}));
  TempDir mixed;
  write_file(mixed.path() / "train.csv", "x");
  write_file(mixed.path() / "test.jsonl", "x");
  EXPECT_THAT([&] { infer_module_for_data_files(get_data_files(mixed.path().string()), "here"); },
              ThrowsMessage<InputError>(HasSubstr("different formats (csv and json")));
}

// A folder laid out as a Hub dataset downloaded with huggingface-cli: configs in README.md with per-split patterns.
class DatasetFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path d = dir_.path() / "wikitext";
    for (const char* cfg : {"wikitext-2-raw-v1", "wikitext-103-raw-v1"})
      for (const char* split : {"train", "validation", "test"}) {
        std::string rows = "text\n";
        for (int i = 0; i < 3; ++i) rows += std::string(cfg) + " " + split + " " + std::to_string(i) + "\n";
        write_file(d / cfg / (std::string(split) + "-00000-of-00001.csv"), rows);
      }
    write_file(d / "README.md", R"(---
annotations_creators:
- no-annotation
dataset_info:
- config_name: wikitext-103-raw-v1
  features:
  - name: text
    dtype: string
configs:
- config_name: wikitext-103-raw-v1
  data_files:
  - split: test
    path: wikitext-103-raw-v1/test-*
  - split: validation
    path: wikitext-103-raw-v1/validation-*
  - split: train
    path: wikitext-103-raw-v1/train-*
- config_name: wikitext-2-raw-v1
  data_files:
  - split: test
    path: wikitext-2-raw-v1/test-*
  - split: validation
    path: wikitext-2-raw-v1/validation-*
  - split: train
    path: wikitext-2-raw-v1/train-*
---

# Dataset Card for "wikitext"
)");
    options_.cache_dir = (dir_.path() / "cache").string();
  }
  std::string folder() const { return (dir_.path() / "wikitext").string(); }
  TempDir dir_;
  LoadOptions options_;
};

TEST_F(DatasetFolderTest, NamedConfigurationLoadsItsSplits) {
  const DatasetDict dd = load_dataset_folder(folder(), "wikitext-2-raw-v1", options_);
  ASSERT_EQ(dd.size(), 3u);
  EXPECT_THAT(texts(dd.at("validation")),
              ElementsAre("wikitext-2-raw-v1 validation 0", "wikitext-2-raw-v1 validation 1",
                          "wikitext-2-raw-v1 validation 2"));
  EXPECT_EQ(texts(dd.at("train")).front(), "wikitext-2-raw-v1 train 0");
}

TEST_F(DatasetFolderTest, ConfigurationChoiceErrorsNameTheCard) {
  EXPECT_THAT([&] { load_dataset_folder(folder(), "", options_); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("README.md: several configurations and none is the default"),
                                              HasSubstr("wikitext-103-raw-v1, wikitext-2-raw-v1"))));
  EXPECT_THAT([&] { load_dataset_folder(folder(), "wikitext-2", options_); },
              ThrowsMessage<InputError>(HasSubstr("no configuration \"wikitext-2\"; the card declares")));
  // `default: true` makes a configuration the one loaded without a name.
  const fs::path readme = fs::path(folder()) / "README.md";
  std::ifstream in(readme);
  std::string card((std::istreambuf_iterator<char>(in)), {});
  card.replace(card.find("- config_name: wikitext-2-raw-v1\n"), 33,
               "- config_name: wikitext-2-raw-v1\n  default: true\n");
  write_file(readme, card);
  EXPECT_EQ(texts(load_dataset_folder(folder(), "", options_).at("test")).front(), "wikitext-2-raw-v1 test 0");
}

TEST_F(DatasetFolderTest, BuilderParametersApplyOrAreRefused) {
  const fs::path d = dir_.path() / "semi";
  write_file(d / "train.csv", "text;n\nsemi colon;1\n");
  write_file(d / "README.md", "---\nconfigs:\n- config_name: default\n  data_files: train.csv\n  sep: ';'\n---\n");
  EXPECT_EQ(texts(load_dataset_folder(d.string(), "", options_).at("train")), std::vector<std::string>{"semi colon"});
  write_file(d / "README.md", "---\nconfigs:\n- config_name: default\n  data_files: train.csv\n  skiprows: 2\n---\n");
  EXPECT_THAT([&] { load_dataset_folder(d.string(), "", options_); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("README.md: configs \"default\": skiprows"),
                                              HasSubstr("is not applied here"))));
  const fs::path tsv = dir_.path() / "tsv";
  write_file(tsv / "train.tsv", "text\tn\ttab\t1\n");
  write_file(tsv / "train.tsv", "text\tn\ntab separated\t1\n");
  EXPECT_EQ(texts(load_dataset_folder(tsv.string(), "", options_).at("train")),
            std::vector<std::string>{"tab separated"});
}

TEST_F(DatasetFolderTest, PlainFolderOfTextFilesKeepsNoLineBreaksAsDatasetsDefault) {
  const fs::path d = dir_.path() / "plain";
  write_file(d / "train.txt", "first line\nsecond line\n");
  write_file(d / "validation.txt", "held out\n");
  const DatasetDict dd = load_dataset_folder(d.string(), "", options_);
  EXPECT_EQ(texts(dd.at("train")), (std::vector<std::string>{"first line", "second line"}));
  EXPECT_EQ(texts(dd.at("validation")), std::vector<std::string>{"held out"});
  EXPECT_THAT([&] { load_dataset_folder(d.string(), "other", options_); },
              ThrowsMessage<InputError>(HasSubstr("no configuration \"other\": the folder declares no configs")));
  EXPECT_EQ(load_dataset_folder(d.string(), "default", options_).at("train").num_rows(), 2);
}

TEST_F(DatasetFolderTest, FoldersThisLibraryCannotReadSaySo) {
  const fs::path images = dir_.path() / "images";
  write_file(images / "train" / "a.png", "png");
  write_file(images / "train" / "b.jpg", "jpg");
  EXPECT_THAT([&] { load_dataset_folder(images.string(), "", options_); },
              ThrowsMessage<InputError>(HasSubstr("datasets' imagefolder builder")));
  const fs::path script = dir_.path() / "scripted";
  write_file(script / "scripted.py", "import datasets\n");
  write_file(script / "train.txt", "x\n");
  EXPECT_THAT([&] { load_dataset_folder(script.string(), "", options_); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("scripted.py"), HasSubstr("scripts are not run here"))));
  const fs::path compressed = dir_.path() / "compressed";
  write_file(compressed / "train.csv.gz", "\x1f\x8b not really gzip");
  EXPECT_THAT([&] { load_dataset_folder(compressed.string(), "", options_); },
              ThrowsMessage<InputError>(HasSubstr("train.csv.gz: corrupt gzip data after 0 decompressed bytes")));
  const fs::path missing = dir_.path() / "missing";
  write_file(missing / "README.md",
        "---\nconfigs:\n- config_name: a\n  data_files:\n  - split: train\n    path: nothere.csv\n---\n");
  EXPECT_THAT([&] { load_dataset_folder(missing.string(), "", options_); },
              ThrowsMessage<InputError>(HasSubstr("data file \"nothere.csv\" not found")));
}

}  // namespace
}  // namespace tcpp::datasets
