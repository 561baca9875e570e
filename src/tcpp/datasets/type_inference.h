// Arrow type inference for JSON values, as pyarrow.json infers columns: int64, double, bool, string, lists,
// structs; null unifies with anything, int widens to double, anything else that disagrees is an error.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets {

struct InferredType {
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kList, kStruct };
  Kind kind = Kind::kNull;
  /// kList: one child (name "item"); kStruct: members in order of first appearance.
  std::vector<std::pair<std::string, InferredType>> children;

  /// "null", "bool", "int64", "double", "string", "list<int64>", "struct<a: string>".
  std::string to_string() const;
};

/// The type of one JSON value; throws InputError (no location: callers add it) when list items disagree.
InferredType infer_type(const Json& value);
/// The same for key-ordered JSON (struct members in document order).
InferredType infer_type(const OrderedJson& value);
/// Widen into so that it also covers other. Returns false (into unspecified) when they cannot be unified;
/// *why then describes the conflict ("int64 vs string" or "member \"a\": int64 vs string").
bool unify_types(InferredType& into, const InferredType& other, std::string* why);
/// The Arrow type for an inferred type; unknown (all-null) parts become string, as there is no null column.
arrow::DataType to_arrow_type(const InferredType& type);

}  // namespace tcpp::datasets
