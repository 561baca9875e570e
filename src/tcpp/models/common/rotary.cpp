// Rotary embeddings: inverse frequencies (with scaling variants), cos/sin tables, rotate_half application.
#include "tcpp/models/common/rotary.h"

#include <cmath>

#include <torch/torch.h>

namespace tcpp::models {

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, double theta, const Json& rope_scaling,
                                 int64_t max_position_embeddings) {
  // inv_freq_i = 1 / theta^(2i / D), computed as transformers does (int64 arange cast to float).
  auto exponents = torch::arange(0, head_dim, 2, torch::kLong).to(torch::kFloat32) / static_cast<double>(head_dim);
  inv_freq_ = 1.0 / torch::pow(torch::scalar_tensor(theta, torch::kFloat32), exponents);
  if (rope_scaling.is_object()) {
    std::string type = rope_scaling.value("rope_type", rope_scaling.value("type", std::string("default")));
    double factor = rope_scaling.value("factor", 1.0);
    if (type == "linear") {
      inv_freq_ = inv_freq_ / factor;
    } else if (type == "llama3") {
      // _compute_llama3_parameters: long wavelengths divided by factor, short kept, smooth blend in between.
      double low = rope_scaling.value("low_freq_factor", 1.0);
      double high = rope_scaling.value("high_freq_factor", 4.0);
      double old_ctx = rope_scaling.value("original_max_position_embeddings", static_cast<double>(max_position_embeddings));
      double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
      auto wavelen = 2 * M_PI / inv_freq_;
      auto scaled = torch::where(wavelen > low_wavelen, inv_freq_ / factor, inv_freq_);
      auto smooth = (old_ctx / wavelen - low) / (high - low);
      auto smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
      auto medium = torch::logical_and(wavelen >= high_wavelen, wavelen <= low_wavelen);
      inv_freq_ = torch::where(medium, smoothed, scaled);
    }
  }
}

std::pair<torch::Tensor, torch::Tensor> RotaryEmbedding::cos_sin(const torch::Tensor& position_ids,
                                                                 torch::Dtype dtype) const {
  auto inv = inv_freq_.to(position_ids.device());
  auto freqs = position_ids.to(torch::kFloat32).unsqueeze(-1) * inv;  // (B, T, D/2)
  auto emb = torch::cat({freqs, freqs}, -1);                           // (B, T, D)
  return {(emb.cos() * attention_scaling_).to(dtype), (emb.sin() * attention_scaling_).to(dtype)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.slice(-1, 0, half);
  auto x2 = x.slice(-1, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

}  // namespace tcpp::models
