// Sequence classification: num_labels / problem_type from config.json, last-non-pad pooling, the three losses.
#include "tcpp/models/common/sequence_classification.h"

#include "tcpp/core/error.h"
#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models {

int64_t num_labels(const PretrainedConfig& config) {
  const Json& extra = config.extra;
  int64_t n = 2;
  if (extra.contains("id2label") && extra["id2label"].is_object()) {
    n = static_cast<int64_t>(extra["id2label"].size());
  } else if (extra.contains("num_labels")) {
    if (!extra["num_labels"].is_number_integer())
      throw InputError("config.json", "\"num_labels\" must be an integer, got " + extra["num_labels"].dump());
    n = extra["num_labels"].get<int64_t>();
  }
  if (n < 1) throw InputError("config.json", "\"id2label\" / \"num_labels\" must give at least 1 label, got " +
                                                 std::to_string(n));
  return n;
}

std::string problem_type(const PretrainedConfig& config) {
  auto it = config.extra.find("problem_type");
  if (it == config.extra.end() || it->is_null()) return "";
  if (!it->is_string() || (*it != "regression" && *it != "single_label_classification" &&
                           *it != "multi_label_classification"))
    throw InputError("config.json", "\"problem_type\" must be \"regression\", \"single_label_classification\" or "
                                    "\"multi_label_classification\", got " + it->dump());
  return it->get<std::string>();
}

torch::Tensor pool_last_non_pad_token(const torch::Tensor& logits, const torch::Tensor& input_ids,
                                      std::optional<int64_t> pad_token_id) {
  const int64_t B = logits.size(0), T = logits.size(1);
  if (!pad_token_id) {
    if (B != 1)
      throw InputError("config.json", "\"pad_token_id\" is null: cannot handle batch sizes > 1 if no padding token is "
                                      "defined (set pad_token_id, e.g. to eos_token_id)");
    return logits.select(1, T - 1);
  }
  // The rightmost non-pad index: argmax of index * (token != pad); a row of only pads gives 0, as HF.
  auto non_pad = input_ids.to(logits.device()).ne(*pad_token_id).to(torch::kInt32);
  auto index = torch::arange(T, torch::TensorOptions().dtype(torch::kInt32).device(logits.device()));
  auto last = (index * non_pad).argmax(-1);                                                        // (B)
  auto rows = torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
  return logits.index({rows, last});                                                               // (B, L)
}

torch::Tensor sequence_classification_loss(const torch::Tensor& pooled_logits, const torch::Tensor& labels,
                                           const std::string& problem_type,
                                           std::optional<int64_t> num_items_in_batch) {
  namespace F = torch::nn::functional;
  const int64_t L = pooled_logits.size(-1);
  auto y = labels.to(pooled_logits.device());
  std::string kind = problem_type;
  if (kind.empty()) {
    if (L == 1) kind = "regression";
    else if (y.scalar_type() == torch::kLong || y.scalar_type() == torch::kInt) kind = "single_label_classification";
    else kind = "multi_label_classification";
  }
  auto logits = pooled_logits.to(torch::kFloat32);
  if (kind == "regression") {
    if (L == 1) return F::mse_loss(logits.squeeze(), y.to(torch::kFloat32).squeeze());
    return F::mse_loss(logits, y.to(torch::kFloat32));
  }
  if (kind == "single_label_classification") {
    auto flat = y.to(torch::kLong).reshape({-1});
    auto opts = F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex);
    if (num_items_in_batch)
      return F::cross_entropy(logits.reshape({-1, L}), flat, opts.reduction(torch::kSum)) /
             static_cast<double>(*num_items_in_batch);
    return F::cross_entropy(logits.reshape({-1, L}), flat, opts.reduction(torch::kMean));
  }
  return F::binary_cross_entropy_with_logits(logits, y.to(torch::kFloat32));
}

}  // namespace tcpp::models
