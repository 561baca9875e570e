// Resource limits (issue #10): a tokenizer.json whose vocabulary has very many entries loads, encodes with ids from
// the far end of the vocabulary and decodes, with memory proportional to the vocabulary. 200,000 entries here (a few
// times GPT-2's); TCPP_RESOURCE_VOCAB=10000000 runs the 10-million-entry case docs/RELIABILITY.md reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tcpp/core/proc_status.h"
#include "tcpp/tokenizers/tokenizer.h"

namespace tcpp::tokenizers {
namespace {

namespace fs = std::filesystem;

// Token i of the big vocabulary: "t" + i in base 26 (letters only, so the Whitespace pre-tokenizer keeps it whole).
std::string token(int64_t i) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('a' + i % 26));
    i /= 26;
  } while (i > 0);
  return "t" + s;
}

TEST(BigVocabTest, AVeryLargeWordLevelVocabularyLoadsAndEncodesWithBoundedMemoryPerEntry) {
  const char* env = std::getenv("TCPP_RESOURCE_VOCAB");
  const int64_t n = env && *env ? std::atoll(env) : 200000;
  const fs::path dir = fs::temp_directory_path() / ("tcpp_big_vocab_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "tokenizer.json").string();
  {
    std::ofstream out(path);
    out << R"({"version": "1.0", "truncation": null, "padding": null, "added_tokens": [)"
        << R"({"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, )"
        << R"("normalized": false, "special": true}], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, )"
        << R"("post_processor": null, "decoder": null, "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0)";
    for (int64_t i = 1; i < n; ++i) out << ",\"" << token(i) << "\":" << i;
    out << "}}}";
  }
  const int64_t file_mb = static_cast<int64_t>(fs::file_size(path) >> 20);
  const int64_t rss_before = tcpp::proc_status_kb("VmRSS");
  if (std::FILE* clear = std::fopen("/proc/self/clear_refs", "w")) {  // "5" resets VmHWM
    std::fputs("5", clear);
    std::fclose(clear);
  }
  {
    auto tok = Tokenizer::from_file(path);
    EXPECT_EQ(tok.get_vocab_size(true), static_cast<size_t>(n));
    auto enc = tok.encode(token(n - 1) + " " + token(1) + " nope " + token(n / 2), false);
    EXPECT_EQ(enc.ids, (std::vector<uint32_t>{static_cast<uint32_t>(n - 1), 1, 0, static_cast<uint32_t>(n / 2)}));
    EXPECT_EQ(tok.decode(enc.ids, true), token(n - 1) + " " + token(1) + " " + token(n / 2));
  }
  const int64_t peak_mb = (tcpp::proc_status_kb("VmHWM") - rss_before) / 1024;
  std::printf("[ resource ] %lld-entry vocabulary (%lld MB of JSON): peak RSS grew by %lld MB (%.0f bytes an entry)\n",
              static_cast<long long>(n), static_cast<long long>(file_mb), static_cast<long long>(peak_mb),
              static_cast<double>(peak_mb) * 1048576.0 / static_cast<double>(n));
  // Measured about 500 bytes an entry (JSON DOM while parsing, then the maps); 2 KB an entry would be a regression.
  EXPECT_LT(peak_mb * 1048576, 2048 * n + (64 << 20));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tcpp::tokenizers
