// Batch collation: examples as int64 columns to ModelInputs tensors (as transformers' data_collator.py
// default_data_collator and DataCollatorWithPadding).
#include "tcpp/collators/data_collator.h"

#include <algorithm>
#include <set>

#include "tcpp/core/error.h"

namespace tcpp::collators {
namespace {

std::string example_where(size_t i, const std::string& column) {
  return "features[" + std::to_string(i) + "][\"" + column + "\"]";
}

// The ModelInputs field a column fills, or nullptr for columns the models do not take.
torch::Tensor* field_for(models::ModelInputs& inputs, const std::string& column) {
  if (column == "input_ids") return &inputs.input_ids;
  if (column == "attention_mask") return &inputs.attention_mask;
  if (column == "token_type_ids") return &inputs.token_type_ids;
  if (column == "position_ids") return &inputs.position_ids;
  if (column == "labels" || column == "label_ids") return &inputs.labels;
  return nullptr;
}

torch::Tensor stack_rows(const std::vector<std::vector<int64_t>>& rows, int64_t T) {
  auto out = torch::empty({static_cast<int64_t>(rows.size()), T}, torch::kInt64);
  auto* data = out.data_ptr<int64_t>();
  for (size_t b = 0; b < rows.size(); ++b) std::copy(rows[b].begin(), rows[b].end(), data + b * T);
  return out;
}

}  // namespace

DataCollator remove_unused_columns(DataCollator inner, std::vector<std::string> keep) {
  std::set<std::string> used = {"input_ids", "attention_mask", "token_type_ids", "position_ids", "labels",
                                "label", "label_ids"};
  used.insert(keep.begin(), keep.end());
  auto wrap = [used = std::move(used)](CollateFn collate) -> CollateFn {
    return [used, collate = std::move(collate)](const std::vector<Features>& features) {
      auto unused = [&](const auto& entry) { return used.count(entry.first) == 0; };
      const bool any = std::any_of(features.begin(), features.end(), [&](const Features& f) {
        return std::any_of(f.columns.begin(), f.columns.end(), unused) ||
               std::any_of(f.scalars.begin(), f.scalars.end(), unused);
      });
      if (!any) return collate(features);
      std::vector<Features> kept;
      kept.reserve(features.size());
      for (const auto& f : features) {
        Features k;
        for (const auto& entry : f.columns)
          if (!unused(entry)) k.columns.insert(entry);
        for (const auto& entry : f.scalars)
          if (!unused(entry)) k.scalars.insert(entry);
        kept.push_back(std::move(k));
      }
      return collate(kept);
    };
  };
  DataCollator out{wrap(std::move(inner.collate))};
  out.generator = inner.generator;
  out.seed = inner.seed;
  if (inner.with_generator)
    out.with_generator = [wrap, with = std::move(inner.with_generator)](at::Generator gen) {
      return wrap(with(std::move(gen)));
    };
  return out;
}

models::ModelInputs default_data_collator(const std::vector<Features>& features) {
  if (features.empty()) throw InputError("features", "expected at least one example, got an empty batch");
  models::ModelInputs inputs;
  const Features& first = features.front();
  // As HF: a scalar "label" becomes labels of shape (B,).
  if (auto it = first.scalars.find("label"); it != first.scalars.end()) {
    auto labels = torch::empty({static_cast<int64_t>(features.size())}, torch::kInt64);
    for (size_t i = 0; i < features.size(); ++i) {
      auto f = features[i].scalars.find("label");
      if (f == features[i].scalars.end()) throw InputError(example_where(i, "label"), "missing (example 0 has it)");
      labels[static_cast<int64_t>(i)] = f->second;
    }
    inputs.labels = labels;
  }
  for (const auto& [column, first_values] : first.columns) {
    torch::Tensor* field = field_for(inputs, column);
    if (field == nullptr || field->defined()) continue;
    const auto T = static_cast<int64_t>(first_values.size());
    std::vector<std::vector<int64_t>> rows;
    rows.reserve(features.size());
    for (size_t i = 0; i < features.size(); ++i) {
      auto it = features[i].columns.find(column);
      if (it == features[i].columns.end()) throw InputError(example_where(i, column), "missing (example 0 has it)");
      if (static_cast<int64_t>(it->second.size()) != T)
        throw InputError(example_where(i, column),
                         "expected " + std::to_string(T) + " values (as example 0), got " +
                             std::to_string(it->second.size()) +
                             "; default_data_collator does not pad, use DataCollatorWithPadding");
      rows.push_back(it->second);
    }
    *field = stack_rows(rows, T);
  }
  return inputs;
}

models::ModelInputs pad_features(const std::vector<Features>& features, const PaddingOptions& options,
                                 torch::Tensor* special_tokens_mask) {
  if (features.empty()) throw InputError("features", "expected at least one example, got an empty batch");
  const auto B = static_cast<int64_t>(features.size());
  int64_t T = 0;
  for (size_t i = 0; i < features.size(); ++i) {
    auto it = features[i].columns.find("input_ids");
    if (it == features[i].columns.end()) throw InputError(example_where(i, "input_ids"), "missing");
    T = std::max<int64_t>(T, static_cast<int64_t>(it->second.size()));
  }
  if (options.max_length) T = std::max(T, *options.max_length);
  if (options.pad_to_multiple_of) {
    const int64_t m = *options.pad_to_multiple_of;
    T = (T + m - 1) / m * m;
  }
  const bool left = options.padding_side == PaddingSide::kLeft;

  // Pad one column; rows missing it are an error except attention_mask, which is made from the lengths.
  auto pad_column = [&](const std::string& column, int64_t pad_value, bool required) -> torch::Tensor {
    bool any = false;
    for (const auto& f : features) any = any || f.columns.count(column) > 0;
    if (!any && !required) return {};
    auto out = torch::full({B, T}, pad_value, torch::kInt64);
    auto* data = out.data_ptr<int64_t>();
    for (size_t i = 0; i < features.size(); ++i) {
      const auto& ids = features[i].columns.at("input_ids");
      const auto L = static_cast<int64_t>(ids.size());
      auto it = features[i].columns.find(column);
      int64_t* row = data + static_cast<int64_t>(i) * T + (left ? T - L : 0);
      if (it == features[i].columns.end()) {
        if (column != "attention_mask") throw InputError(example_where(i, column), "missing (other examples have it)");
        std::fill(row, row + L, int64_t{1});
        continue;
      }
      if (static_cast<int64_t>(it->second.size()) != L)
        throw InputError(example_where(i, column), "expected " + std::to_string(L) + " values (as its input_ids), got " +
                                                       std::to_string(it->second.size()));
      std::copy(it->second.begin(), it->second.end(), row);
    }
    return out;
  };

  models::ModelInputs inputs;
  inputs.input_ids = pad_column("input_ids", options.pad_token_id, true);
  inputs.attention_mask = pad_column("attention_mask", 0, true);
  inputs.token_type_ids = pad_column("token_type_ids", 0, false);
  inputs.position_ids = pad_column("position_ids", 0, false);
  // HF's tokenizer.pad leaves labels alone (ragged labels then fail); padding them with -100 is what
  // DataCollatorForTokenClassification / Seq2Seq do and what a loss needs.
  inputs.labels = pad_column("labels", -100, false);
  if (special_tokens_mask != nullptr) *special_tokens_mask = pad_column("special_tokens_mask", 1, false);
  return inputs;
}

DataCollatorWithPadding::DataCollatorWithPadding(PaddingOptions options) : options_(options) {
  if (options_.pad_to_multiple_of && *options_.pad_to_multiple_of <= 0)
    throw InputError("pad_to_multiple_of", "expected a positive integer, got " + std::to_string(*options_.pad_to_multiple_of));
  if (options_.max_length && *options_.max_length <= 0)
    throw InputError("max_length", "expected a positive integer, got " + std::to_string(*options_.max_length));
}

models::ModelInputs DataCollatorWithPadding::operator()(const std::vector<Features>& features) const {
  return pad_features(features, options_);
}

}  // namespace tcpp::collators
