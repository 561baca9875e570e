// docs/RELIABILITY.md (issue #10's report) is kept current by the tests: every fuzz target has a row in its table,
// and every test and file it names exists. A renamed test or a new fuzz target without a row fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "tcpp/core/file.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = TCPP_SOURCE_DIR;

std::string report() { return read_file((kSource / "docs" / "RELIABILITY.md").string()); }

// Every `...` span of the report matching re (first group).
std::set<std::string> quoted(const std::string& text, const std::regex& re) {
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.insert((*it)[1].str());
  return out;
}

TEST(ReliabilityReportTest, EveryFuzzTargetHasARowInTheTable) {
  const std::string doc = report();
  int targets = 0;
  for (const auto& e : fs::directory_iterator(kSource / "tests" / "fuzz")) {
    const std::string name = e.path().filename().string();
    const std::string suffix = "_fuzzer.cpp";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string target = name.substr(0, name.size() - suffix.size());
    ++targets;
    EXPECT_NE(doc.find("| `" + target + "` |"), std::string::npos)
        << "fuzz target " << target << " (tests/fuzz/" << name << ") has no row in docs/RELIABILITY.md §1";
  }
  EXPECT_GE(targets, 17);
}

TEST(ReliabilityReportTest, EveryTestItNamesExists) {
  // GoogleTest names as the report quotes them: `Suite.Name`, or `Name` alone (long CamelCase words only, so that
  // class names such as `InputError` are not taken for tests).
  const auto names = quoted(report(), std::regex("`((?:[A-Z][A-Za-z0-9]*\\.)?[A-Z][A-Za-z0-9]{23,})`"));
  // Every (suite, name) that a TEST, TEST_F or TEST_P under tests/ defines.
  std::set<std::pair<std::string, std::string>> defined;
  const std::regex macro("^TEST(?:_F|_P)?\\(\\s*(\\w+)\\s*,\\s*(\\w+)\\s*\\)");
  for (auto it = fs::recursive_directory_iterator(kSource / "tests"); it != fs::recursive_directory_iterator(); ++it) {
    const fs::directory_entry& e = *it;
    if (e.is_directory() && e.path().filename() == "node_modules") it.disable_recursion_pending();
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
    const std::string text = read_file(e.path().string());
    for (size_t p = text.find("TEST"); p != std::string::npos; p = text.find("TEST", p + 4)) {
      std::smatch m;
      const std::string head = text.substr(p, 400);
      if (std::regex_search(head, m, macro)) defined.emplace(m[1].str(), m[2].str());
    }
  }
  ASSERT_GE(defined.size(), 500u);
  ASSERT_GE(names.size(), 30u);
  for (const auto& name : names) {
    const size_t dot = name.find('.');
    const std::string test = dot == std::string::npos ? name : name.substr(dot + 1);
    const std::string suite = dot == std::string::npos ? "" : name.substr(0, dot);
    bool found = false;
    for (const auto& [s, t] : defined) found = found || (t == test && (suite.empty() || s == suite));
    EXPECT_TRUE(found) << "docs/RELIABILITY.md names the test " << name << ", which no file under tests/ defines";
  }
}

TEST(ReliabilityReportTest, EveryFileItNamesExists) {
  const auto paths = quoted(report(), std::regex("`((?:tests|scripts|src|bench|docs|cmake)/[^`<>*\\s]+)`"));
  ASSERT_GE(paths.size(), 20u);
  for (const auto& path : paths)
    EXPECT_TRUE(fs::exists(kSource / path)) << "docs/RELIABILITY.md names " << path << ", which does not exist";
}

}  // namespace
}  // namespace tcpp
