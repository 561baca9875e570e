// TorchFormatter: Dataset rows and batches as tensors (as datasets/formatting/torch_formatter.py: _tensorize with
// int64 for integers and float32 for floats, _consolidate stacking tensors of one shape and dtype).
#include "tcpp/collators/torch_formatter.h"

#include <algorithm>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::collators {
namespace {

using datasets::Batch;
using datasets::Column;
using datasets::Dataset;

// datasets' _consolidate: a list of tensors of one shape and dtype stacks into one tensor; anything else stays a list.
c10::IValue consolidate(std::vector<c10::IValue> values) {
  bool stackable = !values.empty();
  for (const auto& v : values) {
    if (!v.isTensor()) {
      stackable = false;
      break;
    }
    const auto& t = v.toTensor();
    const auto& first = values.front().toTensor();
    if (t.sizes() != first.sizes() || t.scalar_type() != first.scalar_type()) {
      stackable = false;
      break;
    }
  }
  if (stackable) {
    std::vector<torch::Tensor> tensors;
    tensors.reserve(values.size());
    for (auto& v : values) tensors.push_back(v.toTensor());
    return torch::stack(tensors);
  }
  bool all_tensors = !values.empty();
  for (const auto& v : values) all_tensors = all_tensors && v.isTensor();
  if (all_tensors) {  // ragged: a list of tensors
    c10::List<torch::Tensor> list;
    for (auto& v : values) list.push_back(v.toTensor());
    return list;
  }
  bool all_strings = !values.empty();
  for (const auto& v : values) all_strings = all_strings && v.isString();
  if (all_strings) {
    c10::List<std::string> list;
    for (auto& v : values) list.push_back(v.toStringRef());
    return list;
  }
  c10::impl::GenericList list(c10::AnyType::get());
  for (auto& v : values) list.push_back(std::move(v));
  return list;
}

// A column of N rows, the fast paths for the typed alternatives (tokenized data), JSON for the rest.
c10::IValue column_to_torch(const Column& column) {
  const auto n = static_cast<int64_t>(column.size());
  if (column.holds<Column::Int64s>()) {
    const auto& v = column.as<Column::Int64s>();
    return torch::tensor(v, torch::kInt64).reshape({n});
  }
  if (column.holds<Column::Doubles>()) {
    const auto& v = column.as<Column::Doubles>();
    return torch::tensor(v, torch::kFloat64).to(torch::kFloat32).reshape({n});
  }
  auto lists = [n](const auto& rows) -> c10::IValue {
    std::vector<c10::IValue> values;
    values.reserve(rows.size());
    for (const auto& row : rows) {
      std::vector<int64_t> wide(row.begin(), row.end());
      values.emplace_back(torch::tensor(wide, torch::kInt64).reshape({static_cast<int64_t>(wide.size())}));
    }
    if (n == 0) return torch::empty({0}, torch::kInt64);
    return consolidate(std::move(values));
  };
  if (column.holds<Column::Int32Lists>()) return lists(column.as<Column::Int32Lists>());
  if (column.holds<Column::Int64Lists>()) return lists(column.as<Column::Int64Lists>());
  if (column.holds<Column::Strings>()) {
    c10::List<std::string> list;
    for (const auto& s : column.as<Column::Strings>()) list.push_back(s);
    return list;
  }
  std::vector<c10::IValue> values;
  for (size_t i = 0; i < column.size(); ++i) values.push_back(torch_value_from_json(column.json(i)));
  return consolidate(std::move(values));
}

// A value of a column outside format_columns with output_all_columns: plain Python-like values.
c10::IValue plain_value(const Json& v) {
  if (v.is_null()) return c10::IValue();
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  c10::impl::GenericList list(c10::AnyType::get());
  if (v.is_array()) {
    for (const auto& e : v) list.push_back(plain_value(e));
    return list;
  }
  return v.dump();  // a struct: its JSON text
}

bool formatted(const Dataset& d, const std::string& column) {
  if (d.format_type() != "torch") return false;
  const auto& cols = d.format_columns();
  return cols.empty() || std::find(cols.begin(), cols.end(), column) != cols.end();
}

bool included(const Dataset& d, const std::string& column) {
  return d.format_type() != "torch" || d.output_all_columns() || formatted(d, column);
}

}  // namespace

const c10::IValue& TorchExample::at(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) throw InputError("torch format: no column " + quote(name) + " (columns: " + join(names_, ", ") + ")");
  return values_[static_cast<size_t>(it - names_.begin())];
}

bool TorchExample::contains(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

c10::IValue torch_value_from_json(const Json& value) {
  if (value.is_null()) return c10::IValue();
  if (value.is_boolean()) return torch::tensor(value.get<bool>(), torch::kBool);
  if (value.is_number_integer() || value.is_number_unsigned())
    return torch::tensor(value.get<int64_t>(), torch::kInt64);
  if (value.is_number()) return torch::tensor(static_cast<float>(value.get<double>()), torch::kFloat32);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<c10::IValue> values;
    values.reserve(value.size());
    for (const auto& v : value) values.push_back(torch_value_from_json(v));
    if (values.empty()) return torch::empty({0}, torch::kInt64);  // HF: torch.tensor([]) is float32; ids are int64
    return consolidate(std::move(values));
  }
  return value.dump();  // a struct: its JSON text
}

TorchExample format_torch_row(const Dataset& dataset, int64_t i) {
  const Json row = dataset.row(i);
  TorchExample out;
  for (const auto& name : dataset.column_names()) {
    if (!included(dataset, name)) continue;
    const Json& v = row.at(name);
    out.insert(name, formatted(dataset, name) ? torch_value_from_json(v) : plain_value(v));
  }
  return out;
}

TorchExample format_torch_batch(const Dataset& dataset, int64_t begin, int64_t end) {
  std::vector<std::string> columns;
  for (const auto& name : dataset.column_names())
    if (included(dataset, name)) columns.push_back(name);
  TorchExample out;
  if (columns.empty()) return out;
  const Batch batch = dataset.batch(begin, end, columns);
  for (const auto& name : columns) {
    const Column& c = batch.at(name);
    if (formatted(dataset, name)) {
      out.insert(name, column_to_torch(c));
    } else {
      c10::impl::GenericList list(c10::AnyType::get());
      for (size_t k = 0; k < c.size(); ++k) list.push_back(plain_value(c.json(k)));
      out.insert(name, list);
    }
  }
  return out;
}

}  // namespace tcpp::collators
