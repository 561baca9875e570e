// Training texts from one column of a tcpp::datasets::Dataset, read in batches (as Python's
// tokenizer.train_from_iterator(batch_iterator()) over dataset[i : i + batch_size]["text"]).
// Header-only on purpose: tokenizers does not link datasets; only callers that have a Dataset instantiate this.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/tokenizers/trainers.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

/// The string values of `column` in `dataset` (a tcpp::datasets::Dataset; it must outlive the source), batch_size
/// rows at a time, so only one batch of text is in memory. Throws InputError naming the column (and the row for a
/// null, non-string or invalid UTF-8 value).
template <typename DatasetT>
TextBatchSource dataset_column_source(const DatasetT& dataset, std::string column, int64_t batch_size = 1000) {
  auto names = dataset.column_names();
  if (std::find(names.begin(), names.end(), column) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw InputError("dataset has no column \"" + column + "\" (columns: " + list + ")");
  }
  return [&dataset, column, batch_size](const TextBatchSink& sink) {
    const int64_t n = dataset.num_rows();
    std::vector<std::string> texts;
    for (int64_t begin = 0; begin < n; begin += batch_size) {
      int64_t end = std::min(n, begin + batch_size);
      auto batch = dataset.batch(begin, end, {column});
      const auto& values = batch.at(column);
      texts.clear();
      texts.reserve(static_cast<size_t>(end - begin));
      using Strings = typename std::decay_t<decltype(values)>::Strings;
      const bool plain = values.template holds<Strings>();  // no nulls: the strings themselves
      for (int64_t i = begin; i < end; ++i) {
        auto where = [&] { return "column \"" + column + "\", row " + std::to_string(i); };
        if (plain) {
          texts.push_back(values.template as<Strings>()[static_cast<size_t>(i - begin)]);
        } else {
          Json v = values.json(static_cast<size_t>(i - begin));
          if (!v.is_string()) throw InputError(where(), "expected a string, got " + v.dump());
          texts.push_back(v.get<std::string>());
        }
        if (size_t bad = unicode::find_invalid_utf8(texts.back()); bad != std::string::npos)
          throw InputError(where(), "invalid UTF-8 at byte " + std::to_string(bad));
      }
      sink(texts);
    }
  };
}

}  // namespace tcpp::tokenizers
