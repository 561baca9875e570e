// Split specs with slices (as datasets.arrow_reader.ReadInstruction, rounding="closest").
#include "tcpp/datasets/split.h"

#include <cmath>
#include <optional>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::datasets {
namespace {

struct Bound {
  int64_t value;
  bool percent;
};

std::optional<Bound> parse_bound(const std::string& text, const std::string& spec) {
  std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  bool percent = ends_with(t, "%");
  if (percent) t.pop_back();
  auto v = parse_int(trim(t));
  if (!v) throw InputError("split \"" + spec + "\"", "expected an integer or a percentage, got \"" + text + "\"");
  if (percent && (*v < -100 || *v > 100))
    throw InputError("split \"" + spec + "\"", "percentages must be between -100% and 100%, got " + text);
  return Bound{*v, percent};
}

int64_t absolute(const Bound& b, int64_t n) {
  int64_t v = b.value;
  // Python's round(): halves go to the even neighbour (std::nearbyint in the default rounding mode).
  if (b.percent) v = static_cast<int64_t>(std::nearbyint(static_cast<double>(b.value) * static_cast<double>(n) / 100.0));
  if (v < 0) v = std::max<int64_t>(n + v, 0);
  return std::min(v, n);
}

}  // namespace

Dataset select_split(const DatasetDict& splits, const std::string& spec) {
  std::string name = spec, slice;
  size_t open = spec.find('[');
  if (open != std::string::npos) {
    if (spec.back() != ']') throw InputError("split \"" + spec + "\"", "expected NAME[FROM:TO], missing ']'");
    name = spec.substr(0, open);
    slice = spec.substr(open + 1, spec.size() - open - 2);
  }
  name = trim(name);
  auto it = splits.find(name);
  if (it == splits.end()) {
    std::vector<std::string> names;
    for (const auto& [k, v] : splits) names.push_back(k);
    throw InputError("split \"" + spec + "\"", "no split named \"" + name + "\" (available: " + join(names, ", ") + ")");
  }
  const Dataset& d = it->second;
  if (open == std::string::npos) return d;
  size_t colon = slice.find(':');
  if (colon == std::string::npos) throw InputError("split \"" + spec + "\"", "expected NAME[FROM:TO], missing ':'");
  auto from = parse_bound(slice.substr(0, colon), spec);
  auto to = parse_bound(slice.substr(colon + 1), spec);
  int64_t n = d.num_rows();
  int64_t begin = from ? absolute(*from, n) : 0;
  int64_t end = to ? absolute(*to, n) : n;
  return d.select_range(begin, std::max(begin, end));
}

}  // namespace tcpp::datasets
