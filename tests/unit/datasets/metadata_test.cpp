// Dataset card YAML: scalars and structures as PyYAML's safe_load builds them (checked against Debian's PyYAML),
// the README.md front matter, and the `configs` entries.
#include "tcpp/datasets/metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tcpp/core/error.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;
using testing::write_file;

TEST(DatasetCardTest, YamlScalarsResolveAsPyYamlSafeLoad) {
  const Json y = parse_yaml("a: yes\nb: 'yes'\nc: 12\nd: 1_000\ne: 1.5\nf: 1e5\ng: ~\nh: 3.0.0\ni: 0x1f\n"
                            "j: [x, \"y\", 2]\nk: {m: off}\nl: .inf\nm: -0.5e+3\n", "t.yaml");
  EXPECT_EQ(y["a"], true);
  EXPECT_EQ(y["b"], "yes");
  EXPECT_EQ(y["c"], 12);
  EXPECT_EQ(y["d"], 1000);
  EXPECT_EQ(y["e"], 1.5);
  EXPECT_EQ(y["f"], "1e5");  // YAML 1.1 floats need a dot
  EXPECT_TRUE(y["g"].is_null());
  EXPECT_EQ(y["h"], "3.0.0");
  EXPECT_EQ(y["i"], 31);
  EXPECT_EQ(y["j"], Json({"x", "y", 2}));
  EXPECT_EQ(y["k"]["m"], false);
  EXPECT_TRUE(std::isinf(y["l"].get<double>()));
  EXPECT_EQ(y["m"], -500.0);
  const Json n = parse_yaml("[0755, 0b101, +., '-', .5, 1., 0x_, 99999999999999999999]", "t.yaml");
  EXPECT_EQ(n, Json::parse(R"([493, 5, "+.", "-", 0.5, 1.0, "0x_", "99999999999999999999"])"));
  // Merge keys and explicit tags, as SafeLoader.
  const Json m = parse_yaml("base: &b {sep: ';', x: 1}\nc:\n  <<: *b\n  x: 2\nt: !!str 12\n", "t.yaml");
  EXPECT_EQ(m["c"], Json({{"sep", ";"}, {"x", 2}}));
  EXPECT_EQ(m["t"], "12");
  EXPECT_THAT([] { parse_yaml("a: [1, 2\nb: 3\n", "card.yaml"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("card.yaml:"), HasSubstr("malformed YAML"))));
  // Nested aliases ("billion laughs") stop at a bound instead of exhausting memory.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
            ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
            ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
            ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + "]\n";
  EXPECT_THAT([&] { parse_yaml(bomb, "bomb.yaml"); }, ThrowsMessage<InputError>(HasSubstr("nodes")));
}

TEST(DatasetCardTest, FrontMatterAndStandaloneYamlMerge) {
  TempDir dir;
  write_file(dir.path() / "README.md", "---\nlicense: mit\nconfigs:\n- config_name: a\n  data_files: a/*.txt\n---\n# Title\n"
                                  "---\nnot: metadata\n---\n");
  write_file(dir.path() / ".huggingface.yaml", "license: apache-2.0\n");
  const Json card = dataset_card_data(dir.path().string());
  EXPECT_EQ(card["license"], "apache-2.0");
  EXPECT_FALSE(card.contains("not"));
  const auto configs = metadata_configs(card, "README.md");
  ASSERT_EQ(configs.size(), 1u);
  EXPECT_EQ(configs[0].name, "a");
  EXPECT_EQ(configs[0].params["data_files"], "a/*.txt");
  EXPECT_EQ(default_config_name(configs, "README.md"), "a");
  write_file(dir.path() / "README.md", "# no metadata\n");
  fs::remove(dir.path() / ".huggingface.yaml");
  EXPECT_EQ(dataset_card_data(dir.path().string()), Json::object());
  write_file(dir.path() / "README.md", "---\n- a list\n---\n");
  EXPECT_THAT([&] { dataset_card_data(dir.path().string()); },
              ThrowsMessage<InputError>(HasSubstr("README.md: the YAML metadata block must be a mapping")));
  EXPECT_THAT([] { metadata_configs(Json{{"configs", {{{"data_files", "x"}}}}}, "README.md"); },
              ThrowsMessage<InputError>(HasSubstr("README.md: configs[0]: expected a mapping with a \"config_name\"")));
  EXPECT_THAT([] { metadata_configs(Json{{"configs", {{{"config_name", "a"}, {"data_files", {{{"split", "x"}}}}}}}},
                                    "README.md"); },
              ThrowsMessage<InputError>(HasSubstr("configs[0].data_files")));
}

// A document through Debian's PyYAML (python3-yaml, which python3-torch depends on): safe_load, dumped as
// JSON with non-string keys as json.dumps writes them; nullopt (the test skips) without Python or PyYAML.
std::optional<Json> pyyaml_safe_load(const std::string& doc) {
  TempDir dir;
  write_file(dir.path() / "doc.yaml", doc);
  const auto run = testing::run_python(
      "-c 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' " +
      (dir.path() / "doc.yaml").string());
  if (!run) return std::nullopt;
  const std::string& out = run->output;
  if (WIFEXITED(run->status) && WEXITSTATUS(run->status) != 0 &&
      out.find("No module named 'yaml'") != std::string::npos)
    return std::nullopt;
  if (run->status != 0) throw std::runtime_error("PyYAML failed: " + out);
  return parse_json(out, "PyYAML");  // Python's json writes Infinity
}

// Scalars of every resolver, quoting styles, block and flow collections, anchors, aliases and merge keys, a
// card like a Hub dataset's.
TEST(DatasetCardTest, DocumentsParseAsPyYamlSafeLoadParsesThem) {
  const std::string doc =
      R"(plain: [yes, No, on, OFF, y, n, true, False, ~, null, Null, '', "", -, a b, 'x: y']
ints: [0, -0, +7, 1_000, 0755, 0b1010, 0x1F, -0x10, 12345678901234, 0_, 08, 09.5]
floats: [1.5, -2., .5, 1.5e+3, 6.02E-23, 1e5, +.inf, -.Inf, 1.2.3, 3.0.0, 1:30, -1:30:05, 1:30.5, '1.5']
strings: ["tab\there", 'it''s', "\u00e9t\u00e9", multi
  line plain, !!str 42, !!int "43", !!float '1', "#not comment"]  # comment
block: |
  kept
   newlines
folded: >-
  folded
  text
base: &base {sep: ";", data_files: "**/*.csv", n: 1}
configs:
- config_name: a
  <<: *base
  n: 2
- config_name: 2020
  <<: [{x: 1}, {x: 2, y: 3}]
- {config_name: "c", default: true, data_files: [{split: train, path: [a/*.txt, b/*.txt]}]}
empty_map: {}
empty_list: []
nested: [[1, [2, [3]]], {k: {k2: v}}]
? complex key
: value
1: int key
2.5: float key
)";
  const std::optional<Json> want = pyyaml_safe_load(doc);
  if (!want) GTEST_SKIP() << "no /usr/bin/python3 with PyYAML";
  const Json got = parse_yaml(doc, "doc.yaml");
  for (const auto& [k, v] : want->items()) EXPECT_EQ(got.value(k, Json("<missing>")), v) << k;
  EXPECT_EQ(got.size(), want->size());
}

// The plain-scalar resolvers (int, octal, binary, hexadecimal, float, base 60, inf) on edge cases and 3000
// scalars made of their characters, against PyYAML's regular expressions: the hand-written matchers must
// accept exactly what they accept.
TEST(DatasetCardTest, PlainScalarsOfNumberCharactersResolveAsPyYaml) {
  const std::vector<std::string> pieces = {"0", "1", "5", "7", "9", "_", ".",   ".",   ":",  ":",
                                           "+", "-", "e", "E", "x", "b", "inf", "Inf", "12", "60"};
  std::mt19937 rng(20261201);
  std::vector<std::string> scalars = {
      "1.5e+", "1.5e+3", "1.e-1", ".5e5", ".e5",  "1_0.0_", "0x",      "0b",   "00",
      "0_",    "-0_7",   "1:60",  "1:59", "1:5:", "1::2",   "+1:30.5", "0:30", "0:30.5",
      "-.inf", "+.Inf",  ".INF",  "._5",  "1e+5", "0x_F",   "+0",      "-_",   "1:0_"};
  std::string doc;
  for (const auto& s : scalars) doc += "- " + s + "\n";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    for (size_t n = 1 + rng() % 6; n > 0; --n) s += pieces[rng() % pieces.size()];
    if (s == "-") s = "-0";        // "- -" is a nested sequence, not a scalar
    if (s[0] == ':') s = "1" + s;  // PyYAML starts no plain scalar with ':'
    scalars.push_back(s);
    doc += "- " + s + "\n";
  }
  const std::optional<Json> want = pyyaml_safe_load(doc);
  if (!want) GTEST_SKIP() << "no /usr/bin/python3 with PyYAML";
  const Json got = parse_yaml(doc, "doc.yaml");
  ASSERT_EQ(want->size(), scalars.size());
  ASSERT_EQ(got.size(), scalars.size());
  int differences = 0;
  for (size_t i = 0; i < scalars.size() && differences < 10; ++i)
    if (got[i] != (*want)[i]) {
      ++differences;
      ADD_FAILURE() << scalars[i] << ": PyYAML " << (*want)[i].dump() << ", ours " << got[i].dump();
    }
}

// Long plain scalars resolve without the per-character recursion of std::regex (a 60,000-digit number
// overflowed the stack, found by the dataset_card fuzzer): numbers beyond 64 bits stay as written, floats are
// parsed.
TEST(DatasetCardTest, LongPlainScalarsResolveWithoutRecursion) {
  const std::string digits(60000, '1');
  EXPECT_EQ(parse_yaml("a: " + digits + "\n", "t.yaml")["a"], digits);
  EXPECT_NEAR(parse_yaml("a: 1." + digits + "\n", "t.yaml")["a"].get<double>(), 1.1111111111, 1e-9);
  std::string base60 = "1";
  for (int i = 0; i < 20000; ++i) base60 += ":00";
  EXPECT_EQ(parse_yaml("a: " + base60 + "\n", "t.yaml")["a"], base60);
  const Json y =
      parse_yaml("a: 1:00:00\nb: 0x" + std::string(60000, 'f') + "\nc: 1.0e+999\nd: -1.0e-999\n", "t.yaml");
  EXPECT_EQ(y["a"], 3600);
  EXPECT_EQ(y["b"], "0x" + std::string(60000, 'f'));
  EXPECT_TRUE(std::isinf(y["c"].get<double>()));  // Python's float(): inf and -0.0, not an error
  EXPECT_EQ(y["d"], 0.0);
}

}  // namespace
}  // namespace tcpp::datasets
