// Language-modeling collator: pad, then MLM masking or causal labels (as transformers'
// DataCollatorForLanguageModeling).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include <ATen/core/Generator.h>

#include "tcpp/collators/data_collator.h"

namespace tcpp::collators {

/// The token ids the collator needs (instead of a tokenizer object) plus HF's arguments and defaults.
struct LanguageModelingOptions {
  /// Masked LM (true) or causal LM labels (false).
  bool mlm = true;
  double mlm_probability = 0.15;
  /// Of the masked positions: this share becomes [MASK], random_replace_prob a random id, the rest is kept.
  double mask_replace_prob = 0.8;
  double random_replace_prob = 0.1;
  /// Padding id and side; required whenever a batch needs padding.
  std::optional<int64_t> pad_token_id;
  PaddingSide padding_side = PaddingSide::kRight;
  std::optional<int64_t> pad_to_multiple_of;
  /// Required for mlm.
  std::optional<int64_t> mask_token_id;
  /// len(tokenizer): random replacements are drawn from [0, vocab_size). Required for mlm with random_replace_prob > 0.
  int64_t vocab_size = 0;
  /// Which ids are special (never masked) when the examples carry no special_tokens_mask column.
  std::function<bool(int64_t)> is_special_token;
  /// Seed of the collator's own generator (HF's `seed` argument). Without one (HF's default, and run_mlm.py's) the
  /// masks come from the global generator, as transformers' do: seeded by the Trainer, shared with dropout.
  std::optional<uint64_t> seed;
};

/// Collate examples for language modeling. mlm: mask mlm_probability of the non-special, non-padding tokens
/// (80% [MASK], 10% random id, 10% unchanged by default); labels hold the original ids there and -100 elsewhere.
/// Causal: labels = input_ids with padding positions -100.
///
/// Unlike HF (which sets labels[input_ids == pad_token_id] = -100, also hiding every EOS when pad == eos,
/// HF_SEMANTICS §5 #9), padding is found from the attention mask.
class DataCollatorForLanguageModeling {
 public:
  /// Throws InputError naming the option: mlm without mask_token_id, probabilities outside [0, 1],
  /// mask_replace_prob + random_replace_prob > 1, random replacement without vocab_size.
  explicit DataCollatorForLanguageModeling(LanguageModelingOptions options);

  models::ModelInputs operator()(const std::vector<Features>& features);
  /// MLM masking of a padded batch (torch_mask_tokens): returns (inputs, labels). special_mask is (B, T) bool.
  std::pair<torch::Tensor, torch::Tensor> mask_tokens(const torch::Tensor& input_ids, const torch::Tensor& special_mask);

  /// The generator masking draws from (the global one without a seed); copies share its state (save/restore it
  /// with get_state/set_state). Passing the collator to a Trainer (as a DataCollator) hands this generator to its
  /// checkpoints.
  at::Generator& generator() { return generator_; }
  /// A copy that draws from `gen` (a dataloader worker's generator) instead.
  DataCollatorForLanguageModeling with_generator(at::Generator gen) const {
    DataCollatorForLanguageModeling copy = *this;
    copy.generator_ = std::move(gen);
    return copy;
  }
  /// HF's `seed` argument, if given (its worker w then draws from seed + w).
  std::optional<uint64_t> seed() const { return options_.seed; }

 private:
  LanguageModelingOptions options_;
  at::Generator generator_;
};

}  // namespace tcpp::collators
