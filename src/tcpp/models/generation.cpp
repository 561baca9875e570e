// generate(): the decoding loop with logits processing (temperature, top-k, top-p) and an optional KV cache.
#include "tcpp/models/generation.h"

#include <limits>

#include <torch/torch.h>

#include "tcpp/core/error.h"

namespace tcpp::models {
namespace {

const float kNegInf = -std::numeric_limits<float>::infinity();

// TopKLogitsWarper: everything below the k-th largest logit becomes -inf.
torch::Tensor top_k_filter(const torch::Tensor& logits, int64_t k) {
  k = std::min(k, logits.size(-1));
  auto kth = std::get<0>(torch::topk(logits, k, -1)).select(-1, k - 1).unsqueeze(-1);
  return logits.masked_fill(logits < kth, kNegInf);
}

// TopPLogitsWarper: drop the least likely tokens whose cumulative probability stays within 1 - top_p, keep >= 1.
torch::Tensor top_p_filter(const torch::Tensor& logits, double top_p) {
  auto sorted = torch::sort(logits, -1, /*descending=*/false);
  auto sorted_logits = std::get<0>(sorted), sorted_idx = std::get<1>(sorted);
  auto cum = torch::softmax(sorted_logits, -1).cumsum(-1);
  auto remove_sorted = cum <= (1.0 - top_p);
  remove_sorted.select(-1, remove_sorted.size(-1) - 1).fill_(false);  // the most likely token always stays
  auto remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted);
  return logits.masked_fill(remove, kNegInf);
}

torch::Tensor position_ids_from_mask(const torch::Tensor& mask) {
  // As prepare_inputs_for_generation: count real tokens; left padding gets position 1 (never attended).
  return (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1);
}

}  // namespace

GenerationConfig GenerationConfig::from_model_config(const Json& config) {
  GenerationConfig g;
  if (auto it = config.find("eos_token_id"); it != config.end()) {
    if (it->is_number_integer()) g.eos_token_ids = {it->get<int64_t>()};
    if (it->is_array())
      for (const auto& e : *it)
        if (e.is_number_integer()) g.eos_token_ids.push_back(e.get<int64_t>());
  }
  if (auto it = config.find("pad_token_id"); it != config.end() && it->is_number_integer())
    g.pad_token_id = it->get<int64_t>();
  return g;
}

torch::Tensor generate(PreTrainedModelImpl& model, const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const GenerationConfig& config) {
  if (!model.is_causal_lm())
    throw InputError("generate", model.architecture() + " is not a causal language model");
  TORCH_CHECK(input_ids.dim() == 2 && input_ids.size(1) > 0, "generate: input_ids must be (B, T) with T > 0");
  torch::NoGradGuard no_grad;
  auto device = model.parameters().front().device();
  auto ids = input_ids.to(device, torch::kLong);
  auto mask = attention_mask.defined() ? attention_mask.to(device, torch::kLong) : torch::ones_like(ids);
  const int64_t B = ids.size(0);
  auto unfinished = torch::ones({B}, ids.options());
  auto eos = torch::tensor(config.eos_token_ids, torch::kLong).to(device);
  const int64_t pad = config.pad_token_id.value_or(config.eos_token_ids.empty() ? 0 : config.eos_token_ids[0]);
  KVCache cache;
  for (int64_t step = 0; step < config.max_new_tokens; ++step) {
    ModelInputs in;
    auto positions = position_ids_from_mask(mask);
    if (config.use_cache && step > 0) {
      in.input_ids = ids.slice(1, ids.size(1) - 1);  // only the newest token; the rest is cached
      in.position_ids = positions.slice(1, positions.size(1) - 1);
    } else {
      in.input_ids = ids;
      in.position_ids = positions;
    }
    in.attention_mask = mask;
    if (config.use_cache) in.past_key_values = &cache;
    auto logits = model.forward(in).logits.select(1, -1).to(torch::kFloat32);  // (B, V)
    torch::Tensor next;
    if (config.do_sample) {
      if (config.temperature != 1.0) logits = logits / config.temperature;
      if (config.top_k > 0) logits = top_k_filter(logits, config.top_k);
      if (config.top_p < 1.0) logits = top_p_filter(logits, config.top_p);
      next = torch::multinomial(torch::softmax(logits, -1), 1).squeeze(1);
    } else {
      next = logits.argmax(-1);
    }
    next = next * unfinished + pad * (1 - unfinished);  // finished rows get padding
    ids = torch::cat({ids, next.unsqueeze(1)}, 1);
    mask = torch::cat({mask, torch::ones({B, 1}, mask.options())}, 1);
    if (eos.numel() > 0) {
      unfinished = unfinished * (1 - torch::isin(next, eos).to(torch::kLong));
      if (unfinished.max().item<int64_t>() == 0) break;
    }
  }
  return ids;
}

}  // namespace tcpp::models
