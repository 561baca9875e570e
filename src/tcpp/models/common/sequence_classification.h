// Pieces of the decoder-only sequence classifiers (as transformers' GenericForSequenceClassification and
// loss_utils.ForSequenceClassificationLoss): num_labels from config.json, last-non-pad-token pooling, the loss.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "tcpp/models/config.h"

namespace tcpp::models {

/// config.json's len("id2label"), else its "num_labels", else 2 (PretrainedConfig's default). InputError when the value
/// is not a positive count.
int64_t num_labels(const PretrainedConfig& config);

/// config.json's "problem_type" ("regression", "single_label_classification", "multi_label_classification"), or ""
/// when unset (then inferred from the labels, as HF). InputError for any other value.
std::string problem_type(const PretrainedConfig& config);

/// Each row's logits at its rightmost token that is not pad_token_id (so left and right padding both work), or at the
/// last position when there is no pad token. logits (B, T, L), input_ids (B, T) -> (B, L). InputError when B > 1 and
/// there is no pad token, as HF ("Cannot handle batch sizes > 1 if no padding token is defined").
torch::Tensor pool_last_non_pad_token(const torch::Tensor& logits, const torch::Tensor& input_ids,
                                      std::optional<int64_t> pad_token_id);

/// ForSequenceClassificationLoss on pooled logits (B, L): regression (MSE), single-label classification (cross-entropy
/// over integer labels (B), -100 ignored, sum / num_items_in_batch when given) or multi-label classification (BCE with
/// logits over float labels (B, L)). An empty problem_type is inferred: 1 label regression, integer labels single-label,
/// else multi-label.
torch::Tensor sequence_classification_loss(const torch::Tensor& pooled_logits, const torch::Tensor& labels,
                                           const std::string& problem_type,
                                           std::optional<int64_t> num_items_in_batch);

}  // namespace tcpp::models
