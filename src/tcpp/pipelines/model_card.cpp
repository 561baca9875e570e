// Model cards as transformers' modelcard.py writes them for Trainer runs.
#include "tcpp/pipelines/model_card.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "tcpp/core/strings.h"

namespace tcpp::pipelines {
namespace {

// HF's _maybe_round: floats with more than 4 decimals are shown with 4.
std::string maybe_round(const Json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", d);
    const std::string four = buf;
    const std::string plain = python_float_repr(d);
    const auto dot = plain.find('.');
    if (dot != std::string::npos && plain.find_first_of("eE") == std::string::npos && plain.size() - dot - 1 > 4)
      return four;
    return plain;
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// "eval_loss" -> "Loss", "eval_accuracy" -> "Accuracy" (HF: split on "_", capitalize, join with spaces).
std::string metric_title(std::string key) {
  if (starts_with(key, "eval_")) key = key.substr(5);
  std::vector<std::string> parts = split(key, '_');
  for (auto& p : parts)
    if (!p.empty()) {
      p = to_lower(p);
      p[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(p[0])));
    }
  return join(parts, " ");
}

bool skipped_eval_key(const std::string& k) {
  for (const char* s : {"eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch", "step"})
    if (k == s) return true;
  return false;
}

}  // namespace

std::string model_card(const ModelCardInputs& in) {
  const Json& a = in.training_args;
  auto arg = [&](const char* k) { return a.contains(k) ? a[k] : Json(nullptr); };
  // The evaluation results: the last evaluation in log_history; the table: one row per evaluation.
  Json last_eval;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> metric_keys;
  std::string train_loss = "No log";
  // As HF's parse_log_history: table rows are the evaluations logged before the training summary (the one with
  // train_runtime; none: no table); the results are the last evaluation logged at all.
  bool in_training = std::any_of(in.log_history.begin(), in.log_history.end(),
                                 [](const Json& e) { return e.contains("train_runtime"); });
  for (const auto& e : in.log_history) {
    if (e.contains("train_runtime")) in_training = false;
    if (e.contains("loss")) train_loss = maybe_round(e["loss"]);
    if (!e.contains("eval_loss")) continue;
    last_eval = e;
    if (!in_training) continue;
    if (metric_keys.empty())
      for (const auto& [k, v] : e.items())
        if (starts_with(k, "eval_") && k != "eval_loss" && !skipped_eval_key(k)) metric_keys.push_back(k);
    std::vector<std::string> row = {train_loss, e.contains("epoch") ? maybe_round(e["epoch"]) : "",
                                    e.contains("step") ? maybe_round(e["step"]) : "", maybe_round(e["eval_loss"])};
    for (const auto& k : metric_keys) row.push_back(e.contains(k) ? maybe_round(e[k]) : "");
    rows.push_back(row);
  }
  std::ostringstream o;
  o << "---\nlibrary_name: transformers\n";
  if (in.finetuned_from) o << "base_model: " << *in.finetuned_from << "\n";
  o << "tags:\n- generated_from_trainer\n";
  if (in.dataset) o << "datasets:\n- " << *in.dataset << "\n";
  if (!metric_keys.empty()) {
    o << "metrics:\n";
    for (const auto& k : metric_keys) o << "- " << k.substr(5) << "\n";
  }
  o << "model-index:\n- name: " << in.model_name << "\n  results: []\n---\n\n";
  o << "<!-- This model card has been generated automatically according to the information the Trainer had access "
       "to. You\nshould probably proofread and complete it, then remove this comment. -->\n\n";
  o << "# " << in.model_name << "\n\n";
  if (in.finetuned_from)
    o << "This model is a fine-tuned version of [" << *in.finetuned_from << "](https://huggingface.co/"
      << *in.finetuned_from << ")";
  else
    o << "This model was trained from scratch";
  o << " on " << (in.dataset ? "the " + *in.dataset + " dataset" : std::string("an unknown dataset")) << ".\n";
  if (!last_eval.is_null()) {
    o << "It achieves the following results on the evaluation set:\n";
    o << "- Loss: " << maybe_round(last_eval["eval_loss"]) << "\n";
    for (const auto& k : metric_keys)
      if (last_eval.contains(k)) o << "- " << metric_title(k) << ": " << maybe_round(last_eval[k]) << "\n";
  }
  o << "\n## Model description\n\nMore information needed\n\n## Intended uses & limitations\n\nMore information "
       "needed\n\n## Training and evaluation data\n\nMore information needed\n\n## Training procedure\n\n";
  o << "### Training hyperparameters\n\nThe following hyperparameters were used during training:\n";
  const int64_t B = arg("per_device_train_batch_size").is_number() ? arg("per_device_train_batch_size").get<int64_t>() : 8;
  const int64_t EB = arg("per_device_eval_batch_size").is_number() ? arg("per_device_eval_batch_size").get<int64_t>() : 8;
  const int64_t GA = arg("gradient_accumulation_steps").is_number() ? arg("gradient_accumulation_steps").get<int64_t>() : 1;
  o << "- learning_rate: " << maybe_round(arg("learning_rate")) << "\n";
  o << "- train_batch_size: " << B << "\n- eval_batch_size: " << EB << "\n";
  o << "- seed: " << maybe_round(arg("seed")) << "\n";
  if (in.world_size > 1) o << "- distributed_type: multi-GPU\n- num_devices: " << in.world_size << "\n";
  if (GA > 1) o << "- gradient_accumulation_steps: " << GA << "\n";
  if (in.world_size > 1 || GA > 1) o << "- total_train_batch_size: " << B * GA * in.world_size << "\n";
  if (in.world_size > 1) o << "- total_eval_batch_size: " << EB * in.world_size << "\n";
  o << "- optimizer: Use " << (arg("optim").is_string() ? arg("optim").get<std::string>() : "adamw_torch")
    << " with betas=(" << maybe_round(arg("adam_beta1")) << "," << maybe_round(arg("adam_beta2"))
    << ") and epsilon=" << maybe_round(arg("adam_epsilon")) << " and optimizer_args=No additional optimizer arguments\n";
  o << "- lr_scheduler_type: " << maybe_round(arg("lr_scheduler_type")) << "\n";
  if (arg("warmup_ratio").is_number() && arg("warmup_ratio").get<double>() != 0.0)
    o << "- lr_scheduler_warmup_ratio: " << maybe_round(arg("warmup_ratio")) << "\n";
  if (arg("warmup_steps").is_number() && arg("warmup_steps").get<double>() != 0.0)
    o << "- lr_scheduler_warmup_steps: " << maybe_round(arg("warmup_steps")) << "\n";
  if (arg("max_steps").is_number() && arg("max_steps").get<int64_t>() > 0)
    o << "- training_steps: " << arg("max_steps").get<int64_t>() << "\n";
  else
    o << "- num_epochs: " << maybe_round(arg("num_train_epochs")) << "\n";
  if (arg("fp16") == Json(true) || arg("bf16") == Json(true)) o << "- mixed_precision_training: Native AMP\n";
  if (arg("label_smoothing_factor").is_number() && arg("label_smoothing_factor").get<double>() != 0.0)
    o << "- label_smoothing_factor: " << maybe_round(arg("label_smoothing_factor")) << "\n";
  if (!rows.empty()) {
    o << "\n### Training results\n\n| Training Loss | Epoch | Step | Validation Loss |";
    for (const auto& k : metric_keys) o << " " << metric_title(k) << " |";
    o << "\n|:-------------:|:-----:|:----:|:---------------:|";
    for (const auto& k : metric_keys) o << ":" << std::string(std::max<size_t>(metric_title(k).size(), 3), '-') << ":|";
    o << "\n";
    for (const auto& r : rows) {
      o << "|";
      for (const auto& c : r) o << " " << c << " |";
      o << "\n";
    }
  }
  o << "\n\n### Framework versions\n\n- trainer.cpp 0.1.0 (C++ re-implementation of Transformers 4.57's Trainer)\n";
  if (!in.libtorch_version.empty()) o << "- LibTorch " << in.libtorch_version << "\n";
  return o.str();
}

}  // namespace tcpp::pipelines
