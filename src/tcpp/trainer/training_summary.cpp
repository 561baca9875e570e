// The "***** Running training *****" block that starts train() (as transformers' Trainer._inner_training_loop).
#include "tcpp/trainer/training_summary.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "tcpp/core/cpu_runtime.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {
namespace {

// How much of the CPU an OpenBLAS kernel uses: 2 = AVX-512, 1 = AVX2/FMA, 0 = older or generic.
int kernel_rank(const std::string& core) {
  const std::string c = to_lower(core);
  if (c == "skylakex" || c == "cooperlake" || c == "sapphirerapids") return 2;
  if (c == "haswell" || c == "zen" || c == "skylake") return 1;
  return 0;
}

}  // namespace

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string dtype_name(const std::string& c10_name) {
  if (c10_name == "Float") return "float32";
  if (c10_name == "Double") return "float64";
  if (c10_name == "Half") return "float16";
  if (c10_name == "BFloat16") return "bfloat16";
  return to_lower(c10_name);
}

BlasInfo detect_blas() {
  BlasInfo info;
  // OpenBLAS exports these from libopenblas.so (LibTorch reaches it through libblas.so.3 on Debian).
  using GetString = const char* (*)();
  auto get_config = reinterpret_cast<GetString>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto get_corename = reinterpret_cast<GetString>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (get_config) {
    info.name = "OpenBLAS";
    info.config = get_config();
    if (get_corename) info.core = get_corename();
  }
  info.coretype_env = std::getenv("OPENBLAS_CORETYPE") != nullptr;
  info.coretype_chosen = cpu_runtime_choice().coretype_chosen_by_us;
  info.cpu_coretype = cpu_openblas_coretype();
  return info;
}

std::string describe_blas(const BlasInfo& blas) {
  if (blas.name.empty()) return "unknown";
  std::string out = blas.name;
  auto words = split(blas.config, ' ');
  if (words.size() >= 2 && words[0] == blas.name) out += " " + words[1];  // the version
  if (!blas.core.empty()) out += " (kernel " + blas.core + (blas.coretype_chosen ? ", chosen for this CPU by trainer.cpp)"
                                                 : blas.coretype_env ? ", from OPENBLAS_CORETYPE)" : ")");
  return out;
}

std::optional<std::string> blas_warning(const BlasInfo& blas) {
  if (blas.name != "OpenBLAS" || blas.coretype_env || blas.cpu_coretype.empty()) return std::nullopt;
  if (kernel_rank(blas.core) >= kernel_rank(blas.cpu_coretype)) return std::nullopt;
  return "OpenBLAS runs its " + (blas.core.empty() ? std::string("generic") : blas.core) +
         " kernel on a CPU that can run " + blas.cpu_coretype + ": matrix products are slower than they need be. " +
         "Start the program with OPENBLAS_CORETYPE=" + blas.cpu_coretype +
         " in the environment (scripts/detect_openblas_coretype.sh prints the value for this machine)";
}

std::vector<std::string> format_training_summary(const TrainingSummary& s, const BlasInfo& blas) {
  const int64_t total_batch = s.per_device_train_batch_size * s.world_size * s.gradient_accumulation_steps;
  std::vector<std::string> lines = {
      "***** Running training *****",
      "  Num examples = " + (s.num_examples < 0 ? std::string("unknown (streamed)") : thousands(s.num_examples)),
      "  Num Epochs = " + (s.num_examples < 0 ? std::string("as many passes as max_steps needs") : thousands(s.num_epochs)),
      "  Instantaneous batch size per device = " + thousands(s.per_device_train_batch_size),
      "  Total train batch size (w. parallel, distributed & accumulation) = " + thousands(total_batch),
      "  Gradient Accumulation steps = " + std::to_string(s.gradient_accumulation_steps),
      "  Total optimization steps = " + thousands(s.max_steps),
      "  Number of trainable parameters = " + thousands(s.trainable_parameters),
  };
  if (s.world_size > 1) lines.push_back("  Processes (data parallel) = " + std::to_string(s.world_size));
  lines.push_back("  Device = " + s.device);
  lines.push_back("  Threads = " + std::to_string(s.num_threads));
  lines.push_back("  Dtype = " + s.dtype);
  lines.push_back("  BLAS = " + describe_blas(blas));
  if (!s.cpu_allocator.empty()) lines.push_back("  CPU allocator = " + s.cpu_allocator);
  return lines;
}

void log_training_summary(const TrainingSummary& summary) {
  static const BlasInfo blas = detect_blas();
  for (const auto& line : format_training_summary(summary, blas)) log_info(line);
  // Once per process: a program that trains several times needs to hear it only once.
  static std::once_flag warned;
  if (auto w = blas_warning(blas)) std::call_once(warned, [&] { log_warning(*w); });
}

}  // namespace tcpp::trainer
