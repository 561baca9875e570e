// The "***** Running training *****" block that starts train() (as transformers' Trainer._inner_training_loop), plus
// what a C++ run also needs to know: device, threads, dtype and the BLAS library (with its kernel).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tcpp::trainer {

/// The numbers HF's summary prints, plus device/threads/dtype.
struct TrainingSummary {
  int64_t num_examples = 0;  // -1: a stream of unknown length
  int64_t num_epochs = 0;
  int64_t per_device_train_batch_size = 0;
  int64_t world_size = 1;
  int64_t gradient_accumulation_steps = 1;
  int64_t max_steps = 0;
  int64_t trainable_parameters = 0;
  std::string device;  // "cpu", "cuda:0"
  int64_t num_threads = 1;
  std::string dtype;  // "float32", "bfloat16", ...
  std::string cpu_allocator;  // "caching", ...; empty: no line (training on an accelerator)
};

/// The BLAS library this process runs (found at run time among the loaded libraries).
struct BlasInfo {
  std::string name;    // "OpenBLAS", or empty when not recognised
  std::string config;  // openblas_get_config(): "OpenBLAS 0.3.21 ... DYNAMIC_ARCH ... Haswell MAX_THREADS=64"
  std::string core;    // openblas_get_corename(): the kernel in use, e.g. "Haswell", "SkylakeX", "Prescott"
  bool coretype_env = false;  // OPENBLAS_CORETYPE is set
  bool coretype_chosen = false;  // ... by prepare_cpu_runtime(), not by the user
  /// The best OPENBLAS_CORETYPE this CPU runs, as scripts/detect_openblas_coretype.sh prints it: "SkylakeX"
  /// (AVX-512 F/BW/VL/DQ), "Haswell" (AVX2 + FMA) or empty.
  std::string cpu_coretype;
};

/// HF's summary lines ("***** Running training *****", "  Num examples = 1,000", ...) then device, threads, dtype
/// and BLAS, one line each, without trailing newlines.
std::vector<std::string> format_training_summary(const TrainingSummary& summary, const BlasInfo& blas);

/// Look up the BLAS in this process (OpenBLAS through its exported openblas_get_config/openblas_get_corename).
BlasInfo detect_blas();

/// One line for the summary: "OpenBLAS 0.3.21 ... (kernel Haswell)", or "unknown".
std::string describe_blas(const BlasInfo& blas);

/// A warning when OpenBLAS runs a kernel below what the CPU can do and OPENBLAS_CORETYPE is unset (Debian's
/// OpenBLAS 0.3.21 does not recognise recent AVX-512 CPUs and picks Haswell or a generic kernel); nullopt when
/// there is nothing to fix.
std::optional<std::string> blas_warning(const BlasInfo& blas);

/// Log the summary at info level (the caller logs on the main process only), then blas_warning() once per
/// process.
void log_training_summary(const TrainingSummary& summary);

/// c10's scalar type names ("Float", "BFloat16", "Half", "Double") as torch spells dtypes ("float32", ...).
std::string dtype_name(const std::string& c10_name);

/// Python's f"{n:,}": 1234567 -> "1,234,567".
std::string thousands(int64_t n);

}  // namespace tcpp::trainer
