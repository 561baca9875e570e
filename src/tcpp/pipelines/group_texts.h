// run_clm.py / run_mlm.py's data preparation: tokenize a text column, then group_texts into block_size chunks.
#pragma once

#include <cstdint>
#include <string>

#include "tcpp/datasets/column.h"
#include "tcpp/datasets/dataset.h"

namespace tcpp::tokenizers {
class Tokenizer;
}

namespace tcpp::pipelines {

struct GroupTextsOptions {
  int64_t block_size = 1024;
  /// run_clm: labels = a copy of input_ids. run_mlm: no labels (the collator masks).
  bool add_labels = true;
};

/// As run_clm.py's group_texts on one map batch: concatenate every list column, keep
/// (total // block_size) * block_size tokens (the remainder of this batch is dropped) and cut into blocks.
/// A batch shorter than one block yields no rows (transformers < 4.57 behaviour; the caller reports an
/// empty result). Non-list columns are an error naming the column.
datasets::Batch group_texts(const datasets::Batch& batch, const GroupTextsOptions& options);

struct TokenizeOptions {
  /// The text column ("text" if present, else the first column, as run_clm).
  std::string text_column;
  bool add_special_tokens = true;
  /// run_mlm: also return special_tokens_mask.
  bool return_special_tokens_mask = false;
  /// BERT-style models take token_type_ids (their tokenizer's model_input_names include it).
  bool return_token_type_ids = false;
};

/// A batched map function calling tokenizer(batch[text_column]): input_ids, attention_mask (and token_type_ids,
/// special_tokens_mask when asked) as int32 lists. Truncation and padding are the tokenizer's own settings
/// (set_truncation / set_padding), as in Python. The tokenizer must outlive the function.
datasets::MapFunction tokenize_function(const tokenizers::Tokenizer& tokenizer, TokenizeOptions options);

/// The column run_clm tokenizes: "text" when present, else the first column.
std::string text_column_name(const std::vector<std::string>& column_names);

}  // namespace tcpp::pipelines
