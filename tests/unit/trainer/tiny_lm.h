// A tiny language model, datasets and options shared by the Trainer tests.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "tcpp/collators/language_modeling.h"
#include "tcpp/trainer/trainer.h"

namespace tcpp::trainer::test_util {

namespace fs = std::filesystem;

constexpr int64_t kVocab = 16;

// Embedding + LayerNorm + dropout + linear head, with HF's loss: shifted for causal LMs, sum / num_items_in_batch
// when given, else the mean.
struct TinyLMImpl : models::PreTrainedModelImpl {
  TinyLMImpl(bool causal, double dropout) : causal_(causal) {
    wte = register_module("wte", torch::nn::Embedding(kVocab, 8));
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({8})));
    drop = register_module("drop", torch::nn::Dropout(dropout));
    lm_head = register_module("lm_head", torch::nn::Linear(8, kVocab));
  }
  models::ModelOutput forward(const models::ModelInputs& in) override {
    models::ModelOutput out;
    out.logits = lm_head(ln_f(drop(wte(in.input_ids))));  // (B, T, V)
    if (nan_after_calls >= 0 && ++calls > nan_after_calls) out.logits = out.logits * std::nan("");
    if (!in.labels.defined()) return out;
    auto logits = out.logits;
    auto labels = in.labels;
    if (causal_) {
      logits = logits.narrow(1, 0, logits.size(1) - 1);
      labels = labels.narrow(1, 1, labels.size(1) - 1);
    }
    namespace F = torch::nn::functional;
    auto flat_logits = logits.reshape({-1, kVocab});
    auto flat_labels = labels.reshape({-1});
    if (in.num_items_in_batch) {
      out.loss = F::cross_entropy(flat_logits, flat_labels, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)) /
                 static_cast<double>(*in.num_items_in_batch);
    } else {
      out.loss = F::cross_entropy(flat_logits, flat_labels, F::CrossEntropyFuncOptions().ignore_index(-100));
    }
    // A finite loss whose gradient is NaN: d sqrt(x)/dx is inf at 0, times the 0 that makes x.
    if (nan_grad_after_calls >= 0 && ++grad_calls > nan_grad_after_calls)
      out.loss = out.loss + torch::sqrt(lm_head->bias.sum() * 0.0);
    return out;
  }
  Json config_json() const override { return Json{{"model_type", "tiny"}, {"vocab_size", kVocab}}; }
  std::string architecture() const override { return "TinyLM"; }
  bool is_causal_lm() const override { return causal_; }

  bool causal_;
  int64_t nan_after_calls = -1;
  int64_t calls = 0;
  int64_t nan_grad_after_calls = -1;
  int64_t grad_calls = 0;
  torch::nn::Embedding wte{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear lm_head{nullptr};
};

inline std::shared_ptr<TinyLMImpl> make_model(uint64_t init_seed = 0, bool causal = true, double dropout = 0.0) {
  torch::manual_seed(init_seed);
  return std::make_shared<TinyLMImpl>(causal, dropout);
}

// n sequences of counting patterns (t, t+1, ...) mod 12, length 6; some labels ignored so token counts differ.
inline std::shared_ptr<VectorDataset> counting_dataset(int64_t n, bool with_ignored_labels = false) {
  std::vector<collators::Features> examples;
  for (int64_t i = 0; i < n; ++i) {
    collators::Features f;
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < 6; ++t) ids.push_back((i + t) % 12);
    f.columns["input_ids"] = ids;
    auto labels = ids;
    if (with_ignored_labels)
      for (int64_t t = 0; t < i % 4; ++t) labels[static_cast<size_t>(5 - t)] = -100;
    f.columns["labels"] = labels;
    examples.push_back(f);
  }
  return std::make_shared<VectorDataset>(examples);
}

struct TempDir {
  TempDir() {
    static int counter = 0;
    path = (fs::temp_directory_path() / ("tcpp_trainer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))).string();
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

inline TrainerOptions base_options(const std::string& dir) {
  TrainerOptions o;
  o.output_dir = dir;
  o.per_device_train_batch_size = 4;
  o.learning_rate = 1e-2;
  o.save_strategy = "no";
  o.logging_steps = 1;
  o.handle_signals = false;
  return o;
}

// The startup summary's once-per-process OPENBLAS_CORETYPE advice (machine-dependent), which these tests ignore.
inline bool is_blas_warning(const std::string& message) { return message.find("OPENBLAS_CORETYPE") != std::string::npos; }

inline std::vector<torch::Tensor> params_of(const std::shared_ptr<TinyLMImpl>& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m->parameters()) out.push_back(p.detach().clone());
  return out;
}

inline std::vector<Json> train_logs(const TrainerState& s) {
  std::vector<Json> out;
  for (const auto& e : s.log_history)
    if (e.contains("loss")) out.push_back(e);
  return out;
}

// Stops training at a given step (to simulate an interruption that happened after a checkpoint).
struct StopAt : TrainerCallback {
  explicit StopAt(int64_t step) : step_(step) {}
  void on_step_end(const TrainerOptions&, TrainerState& state, TrainerControl& control) override {
    if (state.global_step == step_) control.should_training_stop = true;
  }
  int64_t step_;
};

/// An MLM collator with a generator of its own (seed), or drawing from the global one (nullopt, HF's default).
inline collators::DataCollator mlm_collator(std::optional<uint64_t> seed = 42) {
  collators::LanguageModelingOptions lm;
  lm.seed = seed;
  lm.pad_token_id = 0;
  lm.mask_token_id = 15;
  lm.vocab_size = kVocab;
  lm.mlm_probability = 0.3;
  return collators::DataCollatorForLanguageModeling(lm);
}

}  // namespace tcpp::trainer::test_util
