// Activation functions with transformers' names and formulas.
#include "tcpp/models/common/activations.h"

#include <cmath>

#include <torch/torch.h>

#include "tcpp/core/error.h"

namespace tcpp::models {

Activation get_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return [](const torch::Tensor& x) { return torch::gelu(x); };
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
    // NewGELUActivation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) — the formula of ATen's gelu with
    // approximate="tanh", which computes it (and its gradient) in one vectorised pass instead of eight tensor ops
    // with their intermediates kept for backward. Equal up to float rounding (tested against the formula).
    return [](const torch::Tensor& x) { return torch::gelu(x, "tanh"); };
  }
  if (name == "gelu_fast")
    return [](const torch::Tensor& x) { return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))); };
  if (name == "quick_gelu") return [](const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); };
  if (name == "relu") return [](const torch::Tensor& x) { return torch::relu(x); };
  if (name == "silu" || name == "swish") return [](const torch::Tensor& x) { return torch::silu(x); };
  if (name == "tanh") return [](const torch::Tensor& x) { return torch::tanh(x); };
  if (name == "sigmoid") return [](const torch::Tensor& x) { return torch::sigmoid(x); };
  throw InputError(where, "unsupported activation \"" + name +
                              "\" (expected gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, silu, "
                              "swish, tanh or sigmoid)");
}

}  // namespace tcpp::models
