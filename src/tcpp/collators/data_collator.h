// Batch collation: examples as int64 columns to ModelInputs tensors (as transformers' data_collator.py
// default_data_collator and DataCollatorWithPadding).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>

#include "tcpp/models/pretrained_model.h"

namespace tcpp::collators {

/// One example: per-token int64 columns (input_ids, attention_mask, token_type_ids, position_ids, labels,
/// special_tokens_mask) and per-example scalars (label). Collators ignore columns ModelInputs has no field for,
/// except special_tokens_mask, which the MLM collator reads when it is there (the Trainer's remove_unused_columns
/// removes it first, as HF's does: see remove_unused_columns below).
struct Features {
  std::map<std::string, std::vector<int64_t>> columns;
  std::map<std::string, int64_t> scalars;
};

using CollateFn = std::function<models::ModelInputs(const std::vector<Features>&)>;

namespace detail {
template <typename T, typename = void>
struct has_generator : std::false_type {};
template <typename T>
struct has_generator<T, std::void_t<decltype(std::declval<T&>().generator())>> : std::true_type {};
template <typename T, typename = void>
struct has_with_generator : std::false_type {};
template <typename T>
struct has_with_generator<T, std::void_t<decltype(std::declval<const T&>().with_generator(
                                 std::declval<at::Generator>()))>> : std::true_type {};
template <typename T, typename = void>
struct has_seed : std::false_type {};
template <typename T>
struct has_seed<T, std::void_t<decltype(std::optional<uint64_t>(std::declval<const T&>().seed()))>>
    : std::true_type {};
}  // namespace detail

/// A collator as the Trainer holds it: the collate function plus the random generator it draws from, if any,
/// so that checkpoints save it and resume restores it.
struct DataCollator {
  /// Any callable taking the examples: a function such as default_data_collator, a lambda, a collator object.
  /// An object with a generator() member (DataCollatorForLanguageModeling) also hands over its generator; the
  /// copy kept here shares that generator's state. One with with_generator(gen) (a copy drawing from gen) and
  /// seed() can also collate in HF's dataloader workers, each drawing from a generator of its own.
  template <typename Fn, typename = std::enable_if_t<
                             !std::is_same_v<std::decay_t<Fn>, DataCollator> &&
                             std::is_invocable_r_v<models::ModelInputs, std::decay_t<Fn>&, const std::vector<Features>&>>>
  DataCollator(Fn&& fn) {  // NOLINT: implicit on purpose
    using Own = std::decay_t<Fn>;
    Own own(std::forward<Fn>(fn));
    if constexpr (detail::has_generator<Own>::value) generator = own.generator();
    if constexpr (detail::has_with_generator<Own>::value)
      with_generator = [own](at::Generator gen) -> CollateFn { return own.with_generator(std::move(gen)); };
    if constexpr (detail::has_seed<Own>::value) seed = own.seed();
    collate = std::move(own);
  }
  DataCollator(CollateFn fn, at::Generator gen) : collate(std::move(fn)), generator(std::move(gen)) {}
  CollateFn collate;
  std::optional<at::Generator> generator;
  /// The same collation drawing from `gen` instead of `generator` (empty when the collator cannot): how the
  /// Trainer gives each dataloader worker a generator of its own, as HF's worker processes have.
  std::function<CollateFn(at::Generator)> with_generator;
  /// The collator's own seed (HF's DataCollatorForLanguageModeling(seed=...)), if it has one: HF's worker w draws
  /// from seed + w. Without one, a collator with a generator draws from the global generator.
  std::optional<uint64_t> seed;
};

/// HF's Trainer with remove_unused_columns (its _remove_unused_columns, or RemoveColumnsCollator): the examples lose
/// every column and scalar that the model's forward does not take before `inner` sees them. Kept: input_ids,
/// attention_mask, token_type_ids, position_ids, labels, the scalars label and label_ids, and the names in `keep`
/// (label_names). special_tokens_mask goes too, so DataCollatorForLanguageModeling finds special tokens by id
/// (HF: get_special_tokens_mask(already_has_special_tokens=True)), which also keeps an [UNK] in the text from
/// being masked. The generator is inner's.
DataCollator remove_unused_columns(DataCollator inner, std::vector<std::string> keep = {});

/// Stack equal-length examples into (B, T) int64 tensors; a scalar "label" (or "label_ids" column) becomes
/// labels. Keys come from the first example, as HF. Throws InputError naming the example index and column when an
/// example lacks a column or has a different length (this collator does not pad).
models::ModelInputs default_data_collator(const std::vector<Features>& features);

enum class PaddingSide { kRight, kLeft };

/// How to pad: the tokenizer's pad id and side, HF's padding strategies "longest" (max_length unset) and
/// "max_length", and pad_to_multiple_of.
struct PaddingOptions {
  int64_t pad_token_id = 0;
  PaddingSide padding_side = PaddingSide::kRight;
  /// Pad to this length (HF padding="max_length"); longer examples are kept whole, never truncated.
  std::optional<int64_t> max_length;
  /// Round the padded length up to a multiple of this (e.g. 8 for tensor cores).
  std::optional<int64_t> pad_to_multiple_of;
};

/// Pad examples to a common length (as tokenizer.pad): input_ids with pad_token_id, attention_mask with 0 (created
/// when absent), token_type_ids and position_ids with 0, special_tokens_mask with 1, labels with -100.
/// `special_tokens_mask` receives the padded special-token mask when the examples carry one (else undefined).
/// Throws InputError when an example has no input_ids or its columns disagree in length.
models::ModelInputs pad_features(const std::vector<Features>& features, const PaddingOptions& options,
                                 torch::Tensor* special_tokens_mask = nullptr);

/// Pad each batch to its longest example (as DataCollatorWithPadding).
class DataCollatorWithPadding {
 public:
  /// Throws InputError for a pad_to_multiple_of or max_length that is not positive.
  explicit DataCollatorWithPadding(PaddingOptions options);
  models::ModelInputs operator()(const std::vector<Features>& features) const;

 private:
  PaddingOptions options_;
};

}  // namespace tcpp::collators
