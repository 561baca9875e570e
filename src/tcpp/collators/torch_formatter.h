// Rows and batches of a Dataset as LibTorch values (as datasets' TorchFormatter behind with_format("torch")).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/ivalue.h>

#include "tcpp/core/json.h"
#include "tcpp/datasets/dataset.h"

namespace tcpp::collators {

/// Column name -> value, in the dataset's column order: a tensor, a list of tensors (ragged), a string or list of
/// strings, None, or a list of these, as HF's TorchFormatter returns them (the dict of ds[i] / ds[a:b]).
class TorchExample {
 public:
  void insert(std::string name, c10::IValue value) {
    names_.push_back(std::move(name));
    values_.push_back(std::move(value));
  }
  /// The value of column name; throws InputError listing the columns when absent.
  const c10::IValue& at(const std::string& name) const;
  bool contains(const std::string& name) const;
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::vector<c10::IValue> values_;
};

/// Row i of a dataset with format "torch" (datasets' ds.with_format("torch")[i]): integers become int64 tensors,
/// floats float32, bools bool; lists become 1-D tensors, nested lists of equal length stack into n-D tensors and
/// ragged ones stay lists of tensors; strings stay strings. Only format_columns() are converted (all when empty);
/// the others are dropped, or kept as plain values with output_all_columns(). A dataset without a format gives
/// plain values (ints, doubles, strings, lists) for every column. Negative i counts from the end.
TorchExample format_torch_row(const datasets::Dataset& dataset, int64_t i);
/// Rows [begin, end) (datasets' ds[begin:end]): each column is one tensor of the stacked values (a leading
/// dimension of end - begin) when they are tensors of one shape and dtype, otherwise a list.
TorchExample format_torch_batch(const datasets::Dataset& dataset, int64_t begin, int64_t end);

/// One JSON value as TorchFormatter converts it (recursive; lists consolidate as above).
c10::IValue torch_value_from_json(const Json& value);

}  // namespace tcpp::collators
