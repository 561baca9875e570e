// The json builder's fast path for JSON Lines (internal).
#pragma once

#include <string>
#include <vector>

#include "tcpp/datasets/load.h"

namespace tcpp::datasets::builders {

/// build_json for files that are all JSON Lines (no field=): the same table, but each line's members are scanned in
/// place (no JSON document per line; string values without escapes are not copied until they reach the column), and
/// in one pass when the types of the first 10000 lines hold for all (else build_json's two passes: types over all
/// rows, then values). Nested values and anything unusual in a line (escapes the
/// scanner leaves to nlohmann, integers beyond int64, duplicate keys) go through nlohmann::ordered_json as before.
/// Returns false, having written nothing, when a file is not JSON Lines, a line is longer than 1 MB, or a line is
/// not a record: build_json's general path then does the work and reports any error exactly as it always has.
bool build_json_lines_fast(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                           const std::string& fingerprint);

}  // namespace tcpp::datasets::builders
