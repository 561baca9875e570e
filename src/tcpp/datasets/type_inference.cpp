// Arrow type inference for JSON values (pyarrow.json's rules, minus timestamps; conflicts are errors).
#include "tcpp/datasets/type_inference.h"

#include "tcpp/core/error.h"

namespace tcpp::datasets {

std::string InferredType::to_string() const {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int64";
    case Kind::kDouble: return "double";
    case Kind::kString: return "string";
    case Kind::kList: return "list<" + children[0].second.to_string() + ">";
    case Kind::kStruct: {
      std::string s = "struct<";
      for (size_t i = 0; i < children.size(); ++i) s += (i ? ", " : "") + children[i].first + ": " + children[i].second.to_string();
      return s + ">";
    }
  }
  return "?";
}

namespace {
template <typename J>
InferredType infer_impl(const J& v) {
  InferredType t;
  using K = InferredType::Kind;
  if (v.is_null()) {
    t.kind = K::kNull;
  } else if (v.is_boolean()) {
    t.kind = K::kBool;
  } else if (v.is_number_integer()) {
    t.kind = K::kInt;
  } else if (v.is_number()) {
    t.kind = K::kDouble;
  } else if (v.is_string()) {
    t.kind = K::kString;
  } else if (v.is_array()) {
    t.kind = K::kList;
    InferredType item;
    for (const auto& e : v) {
      std::string why;
      if (!unify_types(item, infer_impl(e), &why)) throw InputError("list items disagree: " + why);
    }
    t.children.emplace_back("item", std::move(item));
  } else {
    t.kind = K::kStruct;
    for (const auto& [k, e] : v.items()) t.children.emplace_back(k, infer_impl(e));
  }
  return t;
}
}  // namespace

InferredType infer_type(const Json& v) { return infer_impl(v); }
InferredType infer_type(const OrderedJson& v) { return infer_impl(v); }

bool unify_types(InferredType& into, const InferredType& other, std::string* why) {
  using K = InferredType::Kind;
  if (other.kind == K::kNull) return true;
  if (into.kind == K::kNull) {
    into = other;
    return true;
  }
  if (into.kind == other.kind) {
    if (into.kind == K::kList) {
      std::string inner;
      if (unify_types(into.children[0].second, other.children[0].second, &inner)) return true;
      if (why) *why = "list items: " + inner;
      return false;
    }
    if (into.kind == K::kStruct) {
      for (const auto& [name, t] : other.children) {
        auto it = into.children.begin();
        while (it != into.children.end() && it->first != name) ++it;
        if (it == into.children.end()) {
          into.children.emplace_back(name, t);
          continue;
        }
        std::string inner;
        if (!unify_types(it->second, t, &inner)) {
          if (why) *why = "member \"" + name + "\": " + inner;
          return false;
        }
      }
    }
    return true;
  }
  if ((into.kind == K::kInt && other.kind == K::kDouble) || (into.kind == K::kDouble && other.kind == K::kInt)) {
    into.kind = K::kDouble;
    return true;
  }
  if (why) *why = into.to_string() + " vs " + other.to_string();
  return false;
}

arrow::DataType to_arrow_type(const InferredType& t) {
  using K = InferredType::Kind;
  switch (t.kind) {
    case K::kBool: return arrow::bool_();
    case K::kInt: return arrow::int64();
    case K::kDouble: return arrow::float64();
    case K::kList: return arrow::list(to_arrow_type(t.children[0].second));
    case K::kStruct: {
      std::vector<arrow::Field> fields;
      for (const auto& [name, c] : t.children) fields.push_back(arrow::field(name, to_arrow_type(c)));
      return arrow::struct_(std::move(fields));
    }
    default: return arrow::utf8();
  }
}

}  // namespace tcpp::datasets
