// Activation functions by their transformers names (ACT2FN in activations.py): gelu, gelu_new, relu, silu, ...
#pragma once

#include <functional>
#include <string>

#include <torch/types.h>

namespace tcpp::models {

using Activation = std::function<torch::Tensor(const torch::Tensor&)>;

/// The activation transformers calls `name` ("gelu" exact erf, "gelu_new"/"gelu_pytorch_tanh" tanh approximation,
/// "gelu_fast", "quick_gelu", "relu", "silu"/"swish", "tanh", "sigmoid"). Throws InputError naming `where` and the
/// supported names for anything else.
Activation get_activation(const std::string& name, const std::string& where);

}  // namespace tcpp::models
