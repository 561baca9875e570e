// Language-modeling collator: pad, then MLM masking or causal labels (as transformers'
// DataCollatorForLanguageModeling).
#include "tcpp/collators/language_modeling.h"

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"

namespace tcpp::collators {
namespace {

void check_probability(const char* name, double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw InputError(name, "expected a probability in [0, 1], got " + python_float_repr(p));
}

}  // namespace

DataCollatorForLanguageModeling::DataCollatorForLanguageModeling(LanguageModelingOptions options)
    : options_(std::move(options)),
      generator_(options_.seed ? at::detail::createCPUGenerator(*options_.seed)
                               : at::detail::getDefaultCPUGenerator()) {
  check_probability("mlm_probability", options_.mlm_probability);
  check_probability("mask_replace_prob", options_.mask_replace_prob);
  check_probability("random_replace_prob", options_.random_replace_prob);
  if (options_.mask_replace_prob + options_.random_replace_prob > 1.0)
    throw InputError("random_replace_prob", "mask_replace_prob + random_replace_prob must be <= 1, got " +
                                                python_float_repr(options_.mask_replace_prob) + " + " +
                                                python_float_repr(options_.random_replace_prob));
  if (options_.mlm && !options_.mask_token_id)
    throw InputError("mask_token_id", "the tokenizer has no mask token, which masked language modeling needs; "
                                      "set mlm=false to train a causal LM");
  if (options_.mlm && options_.random_replace_prob > 0 && options_.vocab_size <= 0)
    throw InputError("vocab_size", "expected the tokenizer's size (> 0) to draw random replacements, got " +
                                       std::to_string(options_.vocab_size));
  if (options_.pad_to_multiple_of && *options_.pad_to_multiple_of <= 0)
    throw InputError("pad_to_multiple_of", "expected a positive integer, got " + std::to_string(*options_.pad_to_multiple_of));
}

std::pair<torch::Tensor, torch::Tensor> DataCollatorForLanguageModeling::mask_tokens(const torch::Tensor& input_ids,
                                                                                     const torch::Tensor& special_mask) {
  // As torch_mask_tokens, with the same draw order so a seeded generator gives HF's masks.
  auto inputs = input_ids.clone();
  auto labels = input_ids.clone();
  auto probability = torch::full(labels.sizes(), options_.mlm_probability, torch::kFloat32);
  probability.masked_fill_(special_mask, 0.0);
  auto masked = torch::bernoulli(probability, generator_).to(torch::kBool);
  labels.masked_fill_(masked.logical_not(), -100);

  auto replaced =
      torch::bernoulli(torch::full(labels.sizes(), options_.mask_replace_prob, torch::kFloat32), generator_)
          .to(torch::kBool) &
      masked;
  inputs.masked_fill_(replaced, *options_.mask_token_id);
  if (options_.mask_replace_prob == 1.0 || options_.random_replace_prob == 0.0) return {inputs, labels};

  // Of the positions not replaced by [MASK], the share that gets a random id.
  const double scaled = options_.random_replace_prob / (1.0 - options_.mask_replace_prob);
  auto random = torch::bernoulli(torch::full(labels.sizes(), scaled, torch::kFloat32), generator_).to(torch::kBool) &
                masked & replaced.logical_not();
  auto words = torch::randint(options_.vocab_size, labels.sizes(), generator_, torch::kInt64);
  inputs = torch::where(random, words, inputs);
  return {inputs, labels};
}

models::ModelInputs DataCollatorForLanguageModeling::operator()(const std::vector<Features>& features) {
  PaddingOptions padding;
  padding.padding_side = options_.padding_side;
  padding.pad_to_multiple_of = options_.pad_to_multiple_of;
  padding.pad_token_id = options_.pad_token_id.value_or(0);
  torch::Tensor special_column;
  auto batch = pad_features(features, padding, &special_column);
  auto padding_positions = batch.attention_mask.eq(0);
  if (!options_.pad_token_id && padding_positions.any().item<bool>())
    throw InputError("pad_token_id", "the batch needs padding but the tokenizer has no pad token");

  if (!options_.mlm) {
    // Labels from input_ids (HF overwrites any labels column), padding positions ignored.
    batch.labels = batch.input_ids.masked_fill(padding_positions, -100);
    return batch;
  }
  torch::Tensor special;
  if (special_column.defined()) {
    special = special_column.to(torch::kBool);
  } else {
    special = torch::zeros_like(batch.input_ids, torch::kBool);
    if (options_.is_special_token) {
      auto* ids = batch.input_ids.data_ptr<int64_t>();
      auto* out = special.data_ptr<bool>();
      for (int64_t i = 0; i < batch.input_ids.numel(); ++i) out[i] = options_.is_special_token(ids[i]);
    }
  }
  special = special | padding_positions;
  std::tie(batch.input_ids, batch.labels) = mask_tokens(batch.input_ids, special);
  return batch;
}

}  // namespace tcpp::collators
