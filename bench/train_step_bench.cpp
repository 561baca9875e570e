// One training step of trainer.cpp's GPT-2 (forward, loss, backward, grad clipping, AdamW), timed over many steps:
// the C++ side of bench/train_step.sh, which runs the same shapes in PyTorch eager (bench/train_step_torch.py) in
// the same run and prints the ratio. Prints one JSON line.
//   train_step_bench [--n_layer 4] [--n_embd 256] [--n_head 4] [--vocab 8192] [--block 256] [--batch 8]
//                    [--steps 20] [--warmup 3] [--fused_loss 1] [--bf16 0]
// --bf16 1 runs forward + loss under CPU autocast at bfloat16 as the Trainer's --bf16 does (fp32 master weights and
// optimizer state).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <torch/torch.h>

#include "tcpp/core/cpu_runtime.h"
#include "tcpp/models/auto.h"
#include "tcpp/trainer/cpu_allocator.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tcpp/trainer/mixed_precision.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/torch_runtime.h"

namespace {

// User + system CPU seconds of this process: unlike wall time, barely moved by other processes on a busy machine
// (with one thread it is what the step would take alone).
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Peak resident set of this process (MB), as the kernel counts it.
double peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  tcpp::prepare_cpu_runtime(argc, argv);  // as run_clm: OpenBLAS kernel for this CPU, AVX-512 ATen kernels
  tcpp::trainer::prepare_torch_runtime();  // as Trainer: threads, caching allocator (TCPP_CPU_ALLOCATOR=system: not)
  const bool caching = tcpp::trainer::install_caching_cpu_allocator();
  std::map<std::string, long> a = {{"n_layer", 4}, {"n_embd", 256}, {"n_head", 4}, {"vocab", 8192},
                                   {"block", 256}, {"batch", 8},   {"steps", 20}, {"warmup", 3}, {"fused_loss", 1},
                                   {"bf16", 0}};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || !a.count(k.substr(2))) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    a[k.substr(2)] = std::strtol(argv[i + 1], nullptr, 10);
  }
  torch::manual_seed(0);
  auto config = tcpp::models::AutoConfig::for_model("gpt2");
  config->update_from_string("n_layer=" + std::to_string(a["n_layer"]) + ",n_embd=" + std::to_string(a["n_embd"]) +
                             ",n_head=" + std::to_string(a["n_head"]) + ",vocab_size=" + std::to_string(a["vocab"]) +
                             ",n_positions=" + std::to_string(a["block"]) +
                             ",resid_pdrop=0.0,embd_pdrop=0.0,attn_pdrop=0.0");
  auto model = tcpp::models::model_from_config(*config, tcpp::models::ModelTask::kCausalLM);
  model->train();
  tcpp::trainer::OptimizerOptions oo;
  oo.learning_rate = 1e-4;
  oo.weight_decay = 0.01;
  auto optimizer = tcpp::trainer::create_adamw(*model, oo);
  std::vector<torch::Tensor> params;
  for (auto& g : optimizer->param_groups())
    for (auto& p : g.params()) params.push_back(p);
  int64_t n_params = 0;
  for (const auto& p : params) n_params += p.numel();

  tcpp::models::ModelInputs in;
  in.input_ids = torch::randint(a["vocab"], {a["batch"], a["block"]}, torch::kInt64);
  in.labels = in.input_ids;
  const bool bf16 = a["bf16"] != 0;
  in.logits_optional = a["fused_loss"] != 0;  // as the Trainer's training step
  double loss = 0;
  auto step = [&] {
    tcpp::trainer::zero_grad_set_to_none(*optimizer);  // as the Trainer
    tcpp::models::ModelOutput out;
    {
      tcpp::trainer::AutocastGuard autocast(c10::DeviceType::CPU, c10::ScalarType::BFloat16, bf16);
      out = model->forward(in);
    }
    out.loss.backward();
    tcpp::trainer::clip_grad_norm(params, 1.0);
    optimizer->step();
    loss = out.loss.item<double>();
  };
  for (long i = 0; i < a["warmup"]; ++i) step();
  const int64_t maps_before = tcpp::trainer::cpu_allocator_stats().num_maps;
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < a["steps"]; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  const double tokens = static_cast<double>(a["batch"] * a["block"] * a["steps"]);
  const auto stats = tcpp::trainer::cpu_allocator_stats();
  std::printf("{\"impl\": \"trainer.cpp\", \"threads\": %d, \"params\": %lld, \"ms_per_step\": %.2f, "
              "\"tokens_per_s\": %.1f, \"tokens_per_cpu_s\": %.1f, \"last_loss\": %.4f, \"dtype\": \"%s\", "
              "\"allocator\": \"%s\", \"maps_per_step\": %.1f, "
              "\"peak_allocated_mb\": %.0f, \"peak_rss_mb\": %.0f}\n",
              at::get_num_threads(), static_cast<long long>(n_params), 1000.0 * seconds / static_cast<double>(a["steps"]),
              tokens / seconds, tokens / cpu, loss, bf16 ? "bf16" : "fp32", caching ? "caching" : "system",
              static_cast<double>(stats.num_maps - maps_before) / static_cast<double>(a["steps"]),
              static_cast<double>(stats.peak_allocated_bytes) / 1e6, peak_rss_mb());
  return 0;
}
