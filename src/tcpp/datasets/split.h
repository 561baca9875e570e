// Split specs such as "train[:5%]" or "train[10:20]" (as datasets' ReadInstruction with rounding="closest").
#pragma once

#include <string>

#include "tcpp/datasets/dataset.h"

namespace tcpp::datasets {

/// Select a split and optional slice: "train", "train[:5%]", "train[5%:]", "validation[-100:]", "train[2:10]".
/// Percent bounds are rounded as HF does (round half to even of P * N / 100); negative bounds count from
/// the end; bounds are clamped to the split. Throws InputError naming the spec when it is malformed or the
/// split does not exist.
Dataset select_split(const DatasetDict& splits, const std::string& spec);

}  // namespace tcpp::datasets
