// Datasets benchmarks: text / JSON Lines -> Arrow cache (MB/s next to a plain read of the same file),
// reopening a cached table, and map with num_proc 1 vs 2. Data: TCPP_BENCH_MB (default 20) MB generated
// in a temp folder; run with --benchmark_counters_tabular=true. BM_ReopenSavedDataset opens a generated
// TCPP_BENCH_REOPEN_MB (default 1000) MB save_to_disk folder in a fresh child process and reports the time
// and the resident memory (VmRSS) that load_from_disk + num_rows + one row cost there.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tcpp/core/proc_status.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"

namespace {

namespace fs = std::filesystem;
using tcpp::datasets::Batch;
using tcpp::datasets::Column;
using tcpp::datasets::Dataset;
using tcpp::datasets::LoadOptions;
using tcpp::datasets::MapOptions;

struct Corpus {
  fs::path dir;
  std::string text_path, jsonl_path;
  int64_t text_bytes = 0, jsonl_bytes = 0;

  Corpus() {
    dir = fs::temp_directory_path() / ("tcpp-datasets-bench-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    int64_t mb = 20;
    if (const char* e = std::getenv("TCPP_BENCH_MB")) mb = std::max(1L, std::atol(e));
    const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "model", "token", "data"};
    std::mt19937 rng(0);
    text_path = (dir / "corpus.txt").string();
    jsonl_path = (dir / "corpus.jsonl").string();
    std::ofstream text(text_path), jsonl(jsonl_path);
    for (int64_t line = 0; text_bytes < mb * 1000000; ++line) {
      std::string s;
      for (int w = 3 + static_cast<int>(rng() % 30); w > 0; --w) s += std::string(words[rng() % 12]) + (w > 1 ? " " : "");
      text << s << "\n";
      jsonl << "{\"text\": \"" << s << "\", \"id\": " << line << "}\n";
      text_bytes += static_cast<int64_t>(s.size()) + 1;
      jsonl_bytes += static_cast<int64_t>(s.size()) + 24;
    }
  }
  ~Corpus() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Corpus& corpus() {
  static Corpus c;
  return c;
}

void read_baseline(benchmark::State& state, const std::string& path, int64_t bytes) {
  std::string buf(1 << 20, '\0');
  for (auto _ : state) {
    std::ifstream in(path, std::ios::binary);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) benchmark::DoNotOptimize(buf.data());
  }
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}

void convert(benchmark::State& state, const std::string& builder, const std::string& path, int64_t bytes) {
  int run = 0;
  for (auto _ : state) {
    LoadOptions o;
    o.builder = builder;
    o.data_files = {{"train", {path}}};
    o.cache_dir = (corpus().dir / ("cache-" + builder + std::to_string(run++))).string();
    benchmark::DoNotOptimize(tcpp::datasets::load_dataset(o).at("train").num_rows());
    state.PauseTiming();
    fs::remove_all(o.cache_dir);
    state.ResumeTiming();
  }
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ReadTextBaseline(benchmark::State& s) { read_baseline(s, corpus().text_path, corpus().text_bytes); }
void BM_TextToArrow(benchmark::State& s) { convert(s, "text", corpus().text_path, corpus().text_bytes); }
void BM_ReadJsonlBaseline(benchmark::State& s) { read_baseline(s, corpus().jsonl_path, corpus().jsonl_bytes); }
void BM_JsonlToArrow(benchmark::State& s) { convert(s, "json", corpus().jsonl_path, corpus().jsonl_bytes); }

Dataset cached_text() {
  LoadOptions o;
  o.data_files = {{"train", {corpus().text_path}}};
  o.cache_dir = (corpus().dir / "cache-shared").string();
  return tcpp::datasets::load_dataset(o).at("train");
}

void BM_ReopenCachedDataset(benchmark::State& state) {
  std::string file = cached_text().cache_files()[0];
  for (auto _ : state) benchmark::DoNotOptimize(Dataset::from_files({file}).num_rows());
}

// A save_to_disk folder of about `mb` MB in two shards, written directly (HF's layout: stream-format shards of
// 1000-row record batches, state.json): short text lines, as load_dataset("text") caches them, so the files hold
// many record batches (~11k per GB), the hard case for reopening.
std::string saved_dataset(int64_t mb) {
  namespace arrow = tcpp::datasets::arrow;
  fs::path dir = corpus().dir / ("saved-" + std::to_string(mb) + "mb");
  if (fs::exists(dir / "state.json")) return dir.string();
  fs::create_directories(dir);
  arrow::Schema schema;
  schema.fields.push_back(arrow::field("text", arrow::DataType{arrow::TypeId::kUtf8, {}}));
  std::mt19937 rng(1);
  const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "model", "token", "data"};
  std::string files;
  for (int shard = 0; shard < 2; ++shard) {
    std::string name = "data-0000" + std::to_string(shard) + "-of-00002.arrow";
    auto w = arrow::IpcWriter::open((dir / name).string(), schema);
    while (w->bytes_written() < mb * 500000) {
      arrow::ArrayBuilder b(schema.fields[0].type);
      for (int r = 0; r < 1000; ++r) {
        std::string s;
        for (int k = 3 + static_cast<int>(rng() % 30); k > 0; --k) s += std::string(words[rng() % 12]) + (k > 1 ? " " : "");
        b.append_string(s);
      }
      w->write_batch({b.finish()});
    }
    w->close();
    files += std::string(files.empty() ? "" : ", ") + "{\"filename\": \"" + name + "\"}";
  }
  std::ofstream((dir / "state.json").string()) << "{\"_data_files\": [" << files << "], \"_fingerprint\": \"bench\"}\n";
  return dir.string();
}

int64_t vm_rss_kb() { return tcpp::proc_status_kb("VmRSS"); }

void BM_ReopenSavedDataset(benchmark::State& state) {
  int64_t mb = 1000;
  if (const char* e = std::getenv("TCPP_BENCH_REOPEN_MB")) mb = std::max(1L, std::atol(e));
  const std::string dir = saved_dataset(mb);
  double rss_mb = 0, rss_delta_mb = 0, rows = 0;
  for (auto _ : state) {
    // A fresh process each time: nothing of the dataset is mapped or allocated before the open.
    int fds[2];
    if (::pipe(fds) != 0) state.SkipWithError("pipe failed");
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      const int64_t before = vm_rss_kb();
      const auto t0 = std::chrono::steady_clock::now();
      Dataset d = Dataset::load_from_disk(dir);
      const int64_t n = d.num_rows();
      benchmark::DoNotOptimize(d.row(n / 2));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double out[4] = {s, static_cast<double>(vm_rss_kb()), static_cast<double>(vm_rss_kb() - before), static_cast<double>(n)};
      if (::write(fds[1], out, sizeof out) != sizeof out) ::_exit(1);
      ::_exit(0);
    }
    ::close(fds[1]);
    double in[4] = {0, 0, 0, 0};
    const bool ok = ::read(fds[0], in, sizeof in) == static_cast<ssize_t>(sizeof in);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("child failed");
    state.SetIterationTime(in[0]);
    rss_mb = in[1] / 1024;
    rss_delta_mb = in[2] / 1024;
    rows = in[3];
  }
  state.counters["dataset_MB"] = static_cast<double>(mb);
  state.counters["rows"] = rows;
  state.counters["RSS_MB"] = rss_mb;
  state.counters["RSS_delta_MB"] = rss_delta_mb;
}

// A CPU-bound stand-in for a tokenizer: one id per byte with some arithmetic.
Batch fake_tokenize(const Batch& in) {
  Batch out;
  Column::Int32Lists ids;
  for (const auto& s : in.at("text").as<Column::Strings>()) {
    std::vector<int32_t> row;
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
      for (int k = 0; k < 16; ++k) h = (h ^ c) * 16777619u;
      row.push_back(static_cast<int32_t>(h % 50257));
    }
    ids.push_back(std::move(row));
  }
  out["input_ids"] = std::move(ids);
  return out;
}

void BM_MapTokenize(benchmark::State& state) {
  Dataset d = cached_text();
  int run = 0;
  for (auto _ : state) {
    MapOptions o;
    o.batched = true;
    o.num_proc = static_cast<int>(state.range(0));
    o.remove_columns = {"text"};
    o.function_key = "bench-" + std::to_string(run++);  // never reuse a cache between iterations
    Dataset m = d.map(fake_tokenize, o);
    benchmark::DoNotOptimize(m.num_rows());
    state.PauseTiming();
    for (const auto& f : m.cache_files()) fs::remove(f);
    state.ResumeTiming();
  }
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(d.num_rows()), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_ReadTextBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TextToArrow)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadJsonlBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_JsonlToArrow)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReopenCachedDataset)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReopenSavedDataset)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(5);
BENCHMARK(BM_MapTokenize)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
