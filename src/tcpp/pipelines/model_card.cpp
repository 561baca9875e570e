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

// PyYAML's float: repr, with ".0" put before an exponent that has no dot (5e-05 -> 5.0e-05).
std::string yaml_float(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  std::string v = to_lower(python_float_repr(d));
  if (v.find('.') == std::string::npos && v.find('e') != std::string::npos) v.replace(v.find('e'), 1, ".0e");
  return v;
}

// A YAML scalar as PyYAML writes a string: plain, or single-quoted when plain would read as something else.
std::string yaml_string(const std::string& s) {
  static const char* const kSpecial[] = {"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False",
                                         "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off",
                                         "Off", "OFF", "y", "Y", "n", "N"};
  bool quote_it =
      std::any_of(std::begin(kSpecial), std::end(kSpecial), [&](const char* k) { return s == k; }) ||
      (parse_double(s).has_value() && s.find_first_of("0123456789") != std::string::npos) ||
      s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.front() == ' ' ||
      s.back() == ' ' || s.back() == ':' ||
      std::string("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string::npos;
  if (!quote_it) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

// transformers' TASK_TAG_TO_NAME_MAPPING for the two tasks run_clm / run_mlm name.
std::string task_name(const std::string& task) {
  if (task == "fill-mask") return "Masked Language Modeling";
  if (task == "text-generation") return "Causal Language Modeling";
  return "";
}

// transformers' METRIC_TAGS: the evaluation keys a model card's metadata lists (infer_metric_tags_from_eval_results).
bool is_metric_tag(const std::string& tag) {
  for (const char* t : {"accuracy", "bleu", "f1", "matthews_correlation", "pearsonr", "precision", "recall", "rouge",
                        "sacrebleu", "spearmanr", "wer"})
    if (tag == t) return true;
  return false;
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
  // parse_log_history reads the evaluation results only from an entry after the first (idx > 0) once training ran.
  size_t last_eval_index = 0;
  for (size_t i = 0; i < in.log_history.size(); ++i) {
    const Json& e = in.log_history[i];
    if (e.contains("train_runtime")) in_training = false;
    if (e.contains("loss")) train_loss = maybe_round(e["loss"]);
    if (!e.contains("eval_loss")) continue;
    last_eval = e;
    last_eval_index = i;
    if (!in_training) continue;
    if (metric_keys.empty())
      for (const auto& [k, v] : e.items())
        if (starts_with(k, "eval_") && k != "eval_loss" && !skipped_eval_key(k)) metric_keys.push_back(k);
    std::vector<std::string> row = {train_loss, e.contains("epoch") ? maybe_round(e["epoch"]) : "",
                                    e.contains("step") ? maybe_round(e["step"]) : "", maybe_round(e["eval_loss"])};
    for (const auto& k : metric_keys) row.push_back(e.contains(k) ? maybe_round(e[k]) : "");
    rows.push_back(row);
  }
  const bool trained = std::any_of(in.log_history.begin(), in.log_history.end(),
                                   [](const Json& e) { return e.contains("train_runtime"); });
  if (trained && last_eval_index == 0) last_eval = Json();
  // The metadata's metrics: the last evaluation's keys that are metric tags ("eval_accuracy" -> accuracy).
  std::vector<std::pair<std::string, Json>> metric_tags;
  if (!last_eval.is_null())
    for (const auto& [k, v] : last_eval.items()) {
      const std::string tag = to_lower(metric_title(k));
      std::string snake = tag;
      std::replace(snake.begin(), snake.end(), ' ', '_');
      if (starts_with(k, "eval_") && !skipped_eval_key(k) && is_metric_tag(snake)) metric_tags.emplace_back(snake, v);
    }
  std::ostringstream o;
  o << "---\nlibrary_name: transformers\n";
  if (in.finetuned_from) o << "base_model: " << *in.finetuned_from << "\n";
  o << "tags:\n- generated_from_trainer\n";
  if (in.dataset_tags) o << "datasets:\n- " << yaml_string(*in.dataset_tags) << "\n";
  if (!metric_tags.empty()) {
    o << "metrics:\n";
    for (const auto& [tag, v] : metric_tags) o << "- " << tag << "\n";
  }
  // create_model_index: one result per task and dataset, kept only with a task, a dataset and metrics.
  o << "model-index:\n- name: " << yaml_string(in.model_name) << "\n  results:";
  if (in.dataset_tags && !task_name(in.task).empty() && !metric_tags.empty()) {
    o << "\n  - task:\n      name: " << task_name(in.task) << "\n      type: " << in.task << "\n    dataset:\n";
    o << "      name: " << yaml_string(in.dataset.value_or(*in.dataset_tags)) << "\n      type: "
      << yaml_string(*in.dataset_tags) << "\n";
    if (in.dataset_metadata.is_object())
      for (const auto& [k, v] : in.dataset_metadata.items())
        o << "      " << k << ": " << (v.is_string() ? yaml_string(v.get<std::string>()) : v.dump()) << "\n";
    if (in.dataset_args) o << "      args: " << yaml_string(*in.dataset_args) << "\n";
    o << "    metrics:\n";
    for (const auto& [tag, v] : metric_tags)
      o << "    - name: " << metric_title(tag) << "\n      type: " << tag << "\n      value: "
        << (v.is_number_float() ? yaml_float(v.get<double>()) : v.dump()) << "\n";
    o << "---\n\n";
  } else {
    o << " []\n---\n\n";
  }
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
