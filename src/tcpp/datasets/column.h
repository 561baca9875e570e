// Columnar batches handed to and returned by Dataset::map functions (the dict of lists HF passes with
// batched=True), with conversions from and to Arrow arrays.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <variant>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets {

/// One column of a batch. The typed alternatives cover the tokenize -> group_texts pipeline without boxing;
/// Json holds anything else (nulls, bools, structs, nested lists).
class Column {
 public:
  using Strings = std::vector<std::string>;
  using Int64s = std::vector<int64_t>;
  using Doubles = std::vector<double>;
  using Int32Lists = std::vector<std::vector<int32_t>>;
  using Int64Lists = std::vector<std::vector<int64_t>>;
  using Jsons = std::vector<Json>;
  using Storage = std::variant<Strings, Int64s, Doubles, Int32Lists, Int64Lists, Jsons>;

  Column() = default;
  Column(Storage values) : values_(std::move(values)) {}  // NOLINT: implicit on purpose (batch["x"] = ids)
  Column(Strings v) : values_(std::move(v)) {}             // NOLINT
  Column(Int64s v) : values_(std::move(v)) {}              // NOLINT
  Column(Doubles v) : values_(std::move(v)) {}             // NOLINT
  Column(Int32Lists v) : values_(std::move(v)) {}          // NOLINT
  Column(Int64Lists v) : values_(std::move(v)) {}          // NOLINT
  Column(Jsons v) : values_(std::move(v)) {}               // NOLINT

  size_t size() const;
  template <typename T>
  bool holds() const { return std::holds_alternative<T>(values_); }
  /// The values as T; throws InputError naming the column's actual kind when it holds something else.
  template <typename T>
  const T& as() const {
    if (auto* p = std::get_if<T>(&values_)) return *p;
    throw_wrong_kind(kind_name_of<T>());
  }
  template <typename T>
  T& as() {
    if (auto* p = std::get_if<T>(&values_)) return *p;
    throw_wrong_kind(kind_name_of<T>());
  }
  /// Element i as JSON (any alternative).
  Json json(size_t i) const;
  /// "strings", "int64s", "doubles", "int32 lists", "int64 lists", "json values".
  std::string kind_name() const;
  const Storage& storage() const { return values_; }

 private:
  template <typename T>
  static const char* kind_name_of() {
    if constexpr (std::is_same_v<T, Strings>) return "strings";
    else if constexpr (std::is_same_v<T, Int64s>) return "int64s";
    else if constexpr (std::is_same_v<T, Doubles>) return "doubles";
    else if constexpr (std::is_same_v<T, Int32Lists>) return "int32 lists";
    else if constexpr (std::is_same_v<T, Int64Lists>) return "int64 lists";
    else return "json values";
  }
  [[noreturn]] void throw_wrong_kind(const char* wanted) const;

  Storage values_;
};

/// Named columns of equal length, in insertion order (the output column order of map).
/// batch["labels"] = batch.at("input_ids") is safe: adding a column never moves the others.
class Batch {
 public:
  /// The column called name, created empty if absent.
  Column& operator[](const std::string& name);
  /// The column called name; throws InputError listing the columns when absent.
  const Column& at(const std::string& name) const;
  Column& at(const std::string& name);
  bool contains(const std::string& name) const;
  void erase(const std::string& name);
  const std::vector<std::string>& names() const { return names_; }
  size_t num_columns() const { return names_.size(); }
  /// Rows (length of the first column; 0 when empty). check_lengths() verifies they agree.
  size_t num_rows() const;
  /// Throw InputError when the columns have different lengths.
  void check_lengths() const;

 private:
  std::vector<std::string> names_;
  std::deque<Column> columns_;  // a deque: adding a column keeps references to the others valid
};

/// Rows [begin, end) of an Arrow array as a Column, choosing the typed alternative when there are no nulls.
Column column_from_array(const arrow::Array& array, int64_t begin, int64_t end);
/// Append values of column rows [begin, end) to builder (any type the values convert to).
void append_column(const Column& column, arrow::ArrayBuilder& builder);
/// The Arrow type a Column converts to: utf8, int64, double, list<int32>, list<int64>, or inferred from JSON.
arrow::DataType column_arrow_type(const Column& column);

/// Infer an Arrow type from JSON values (nulls skipped); see json_types.h for the rules.
arrow::DataType infer_arrow_type(const Column::Jsons& values);

}  // namespace tcpp::datasets
