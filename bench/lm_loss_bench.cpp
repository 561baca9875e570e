// The fused LM head's elementwise half on GPT-2's vocabulary: softmax_cross_entropy_grad_cpu (one row-wise pass)
// vs the LibTorch ops it replaced (logsumexp, gather, sub/exp, scatter_add, mul; bf16 logits upcast first), on the
// same chunk in one process, alternating, best of N. Prints ms per training step of 2048 rows and the ratio.
//   lm_loss_bench [--threads 1] [--repeats 15] [--vocab 50257]
//   lm_loss_bench --head C [--repeats N]: instead, the whole fused head (linear_cross_entropy forward + backward) on
//   2048 rows of width C at several chunk sizes (see head_chunks); --bf16 1: under bfloat16 autocast, with and
//   without oneDNN's GEMM.
// Uses trainer.cpp's caching CPU allocator on both sides (as the Trainer does), so page faults of fresh
// allocations do not count against the ops.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tcpp/models/common/autocast.h"
#include "tcpp/models/common/bf16_gemm.h"
#include "tcpp/models/common/linear_cross_entropy.h"
#include "tcpp/models/common/softmax_cross_entropy_cpu.h"
#include "tcpp/trainer/cpu_allocator.h"

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The ops the kernel replaced, as linear_cross_entropy ran them per chunk (returns the gradient in `dtype`).
torch::Tensor ops_grad(torch::Tensor logits, const torch::Tensor& y, double scale, torch::ScalarType dtype) {
  auto counted = y.ne(-100).to(torch::kFloat32).unsqueeze(1);
  auto target = y.clamp_min(0).unsqueeze(1);
  if (dtype != torch::kFloat32) logits = logits.to(torch::kFloat32);
  auto lse = torch::logsumexp(logits, 1, /*keepdim=*/true);
  auto loss = ((lse - logits.gather(1, target)) * counted).sum();
  logits.sub_(lse).exp_();
  logits.scatter_add_(1, target, -counted);
  logits.mul_(counted * scale);
  return dtype != torch::kFloat32 ? logits.to(dtype) : logits;
}

// --head C: the whole fused head (linear_cross_entropy forward + backward) on 2048 rows of width C, for several
// chunk sizes in one process, alternating, best of N: how the number of chunks (each one packs the (V, C) weight
// for two GEMMs) trades against the chunk's memory. With --bf16 1: under CPU autocast at bfloat16, each chunk size
// through oneDNN's bf16 -> f32 GEMM (when the process has it) and through LibTorch's bfloat16 mm.
int head_chunks(int64_t rows, int64_t C, int64_t V, int repeats, bool bf16) {
  auto hidden0 = torch::randn({rows, C});
  auto weight = (torch::randn({V, C}) * 0.02).requires_grad_();
  auto labels = torch::randint(0, V, {rows}, torch::kLong);
  const std::vector<int64_t> chunk_rows = {293, 334, 410, 512, 683, 1024, 2048};
  struct Path {
    const char* name;
    bool onednn;
  };
  std::vector<Path> paths = {{bf16 ? "LibTorch bf16 mm" : "float32", false}};
  if (bf16 && tcpp::models::bf16_gemm_available()) paths.push_back({"oneDNN bf16->f32 GEMM", true});
  std::vector<std::vector<double>> best(paths.size(), std::vector<double>(chunk_rows.size(), 1e30));
  if (bf16) {
    tcpp::models::set_autocast_enabled(c10::DeviceType::CPU, true);
    tcpp::models::set_autocast_dtype(c10::DeviceType::CPU, torch::kBFloat16);
  }
  for (int r = 0; r < repeats; ++r) {
    for (size_t p = 0; p < paths.size(); ++p) {
      tcpp::models::set_bf16_gemm_enabled(paths[p].onednn);
      for (size_t i = 0; i < chunk_rows.size(); ++i) {
        auto hidden = hidden0.clone().requires_grad_();
        weight.mutable_grad() = torch::Tensor();
        double t0 = now_s();
        tcpp::models::linear_cross_entropy(hidden, weight, labels, std::nullopt, chunk_rows[i]).backward();
        best[p][i] = std::min(best[p][i], now_s() - t0);
      }
    }
  }
  const double bytes = bf16 ? 2.0 : 4.0;
  for (size_t p = 0; p < paths.size(); ++p)
    for (size_t i = 0; i < chunk_rows.size(); ++i)
      std::printf("head %lld x %lld, vocab %lld, %s, chunk %4lld rows (%4.0f MB of logits): %.1f ms (%.2fx the "
                  "%lld-row chunk of %s)\n",
                  static_cast<long long>(rows), static_cast<long long>(C), static_cast<long long>(V), paths[p].name,
                  static_cast<long long>(chunk_rows[i]),
                  chunk_rows[i] * V * (paths[p].onednn ? 4.0 : bytes) / (1 << 20), best[p][i] * 1e3,
                  best[0][1] / best[p][i], static_cast<long long>(chunk_rows[1]), paths[0].name);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 15;
  int64_t V = 50257, head_width = 0;
  bool bf16 = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--threads") threads = std::atoi(argv[i + 1]);
    else if (k == "--repeats") repeats = std::atoi(argv[i + 1]);
    else if (k == "--vocab") V = std::atoll(argv[i + 1]);
    else if (k == "--head") head_width = std::atoll(argv[i + 1]);
    else if (k == "--bf16") bf16 = std::atoi(argv[i + 1]) != 0;
    else {
      std::fprintf(stderr, "lm_loss_bench: unknown flag %s (--threads N --repeats N --vocab V --head C --bf16 0|1)\n", argv[i]);
      return 2;
    }
  }
  tcpp::trainer::install_caching_cpu_allocator();
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  const int64_t kRowsPerStep = 2048;  // issue #8's small shape: batch 8 x block 256
  if (head_width > 0) return head_chunks(kRowsPerStep, head_width, V, repeats, bf16);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const int64_t rows = tcpp::models::fused_head_chunk_rows(kRowsPerStep, V, dtype == torch::kFloat32 ? 4 : 2);
    auto x0 = (torch::randn({rows, V}) * 2.0).to(dtype);
    auto y = torch::randint(0, V, {rows}, torch::kLong);
    auto buf = torch::empty_like(x0);
    double best_ops = 1e30, best_kernel = 1e30;
    for (int r = 0; r < repeats; ++r) {
      buf.copy_(x0);
      double t0 = now_s();
      auto g = ops_grad(buf, y, 1e-3, dtype);
      double t1 = now_s();
      buf.copy_(x0);
      double t2 = now_s();
      tcpp::models::softmax_cross_entropy_grad_cpu(buf, y, 1e-3);
      double t3 = now_s();
      best_ops = std::min(best_ops, t1 - t0);
      best_kernel = std::min(best_kernel, t3 - t2);
    }
    const double per_step = static_cast<double>(kRowsPerStep) / static_cast<double>(rows);
    std::printf("%s logits, vocab %lld, %d thread(s), best of %d: LibTorch ops %.1f ms/step, kernel %.1f ms/step = "
                "%.2fx\n",
                dtype == torch::kFloat32 ? "fp32" : "bf16", static_cast<long long>(V), threads, repeats,
                best_ops * per_step * 1e3, best_kernel * per_step * 1e3, best_ops / best_kernel);
  }
  return 0;
}
