// run_clm.py / run_mlm.py's tokenize_function and group_texts as map functions over columnar batches.
#include "tcpp/pipelines/group_texts.h"

#include <algorithm>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/tokenizer.h"

namespace tcpp::pipelines {
namespace {

using datasets::Column;

// The first n_blocks * block tokens of the concatenated rows, cut into blocks. Flat lists hold the concatenation
// already (values()), so the blocks are the same values regrouped: no copy.
template <typename T>
datasets::IntLists<T> cut(const datasets::IntLists<T>& lists, int64_t n_blocks, int64_t block) {
  std::vector<int64_t> offsets(static_cast<size_t>(n_blocks) + 1);
  for (size_t b = 0; b < offsets.size(); ++b) offsets[b] = static_cast<int64_t>(b) * block;
  return lists.regrouped(std::move(offsets));
}

}  // namespace

std::string text_column_name(const std::vector<std::string>& column_names) {
  for (const auto& c : column_names)
    if (c == "text") return c;
  if (column_names.empty()) throw InputError("dataset", "has no columns to tokenize");
  return column_names.front();
}

datasets::Batch group_texts(const datasets::Batch& batch, const GroupTextsOptions& options) {
  if (options.block_size <= 0) throw InputError("block_size", "must be positive, got " + std::to_string(options.block_size));
  // Every column must be a token list column; they all have the same total length (run_clm uses the first key's).
  int64_t total = -1;
  datasets::Batch out;
  std::vector<std::pair<std::string, const Column*>> cols;
  for (const auto& name : batch.names()) cols.emplace_back(name, &batch.at(name));
  for (auto& [name, col] : cols) {
    int64_t len = 0;
    if (col->holds<Column::Int32Lists>()) {
      len = static_cast<int64_t>(col->as<Column::Int32Lists>().values().size());
    } else if (col->holds<Column::Int64Lists>()) {
      len = static_cast<int64_t>(col->as<Column::Int64Lists>().values().size());
    } else {
      throw InputError("group_texts: column \"" + name + "\"",
                       "expected lists of token ids (remove other columns first), got " + col->kind_name());
    }
    if (total < 0) total = len;
    if (len != total)
      throw InputError("group_texts: column \"" + name + "\"",
                       "has " + std::to_string(len) + " tokens in this batch, but the first column has " +
                           std::to_string(total));
  }
  if (total < 0) return out;
  const int64_t n_blocks = total / options.block_size;
  for (auto& [name, col] : cols) {
    if (col->holds<Column::Int32Lists>()) {
      out[name] = cut(col->as<Column::Int32Lists>(), n_blocks, options.block_size);
    } else {
      out[name] = cut(col->as<Column::Int64Lists>(), n_blocks, options.block_size);
    }
  }
  if (options.add_labels) {
    if (!out.contains("input_ids")) throw InputError("group_texts", "needs an \"input_ids\" column to make labels");
    Column labels = out.at("input_ids");  // shares the values
    out["labels"] = std::move(labels);
  }
  return out;
}

datasets::MapFunction tokenize_function(const tokenizers::Tokenizer& tokenizer, TokenizeOptions options) {
  return [&tokenizer, options](const datasets::Batch& batch) {
    const auto& texts = batch.at(options.text_column).as<Column::Strings>();
    // One thread per map shard: Dataset::map's num_proc already runs shards in parallel.
    auto encodings = tokenizer.encode_batch(texts, options.add_special_tokens, /*num_threads=*/1);
    // Flat lists: each column's ids go into one buffer sized once for the whole batch.
    size_t total = 0;
    for (const auto& e : encodings) total += e.ids.size();
    Column::Int32Lists ids, mask, types, special;
    ids.reserve(encodings.size(), total);
    mask.reserve(encodings.size(), total);
    if (options.return_token_type_ids) types.reserve(encodings.size(), total);
    if (options.return_special_tokens_mask) special.reserve(encodings.size(), total);
    for (const auto& e : encodings) {
      ids.append_row(e.ids.data(), e.ids.size());
      mask.append_row(e.attention_mask.data(), e.attention_mask.size());
      if (options.return_token_type_ids) types.append_row(e.type_ids.data(), e.type_ids.size());
      if (options.return_special_tokens_mask) special.append_row(e.special_tokens_mask.data(), e.special_tokens_mask.size());
    }
    datasets::Batch out;
    out["input_ids"] = std::move(ids);
    if (options.return_token_type_ids) out["token_type_ids"] = std::move(types);
    out["attention_mask"] = std::move(mask);
    if (options.return_special_tokens_mask) out["special_tokens_mask"] = std::move(special);
    return out;
  };
}

}  // namespace tcpp::pipelines
