// Llama forward pass, top to bottom: embeddings, pre-RMSNorm layers (RoPE GQA attention + SwiGLU), final norm, head.
#include "tcpp/models/llama/modeling_llama.h"

#include <cmath>

#include "tcpp/models/common/attention.h"
#include "tcpp/models/common/linear_cross_entropy.h"
#include "tcpp/models/common/modeling_utils.h"
#include "tcpp/models/common/sequence_classification.h"

namespace tcpp::models::llama {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// repeat_kv: (B, H_kv, S, D) -> (B, H_kv * n_rep, S, D), each kv head serving n_rep query heads.
torch::Tensor repeat_kv(const torch::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t B = x.size(0), Hkv = x.size(1), S = x.size(2), D = x.size(3);
  return x.unsqueeze(2).expand({B, Hkv, n_rep, S, D}).reshape({B, Hkv * n_rep, S, D});
}

}  // namespace

LlamaRMSNormImpl::LlamaRMSNormImpl(int64_t hidden_size, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({hidden_size}));
}

torch::Tensor LlamaRMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat32);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * h.to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& config, int64_t layer_idx)
    : n_head_(config.num_attention_heads),
      n_kv_head_(config.kv_heads()),
      head_dim_(config.head_size()),
      layer_idx_(layer_idx),
      dropout_(config.attention_dropout) {
  const int64_t C = config.hidden_size;
  q_proj_ = register_module("q_proj", linear(C, n_head_ * head_dim_, config.attention_bias));
  k_proj_ = register_module("k_proj", linear(C, n_kv_head_ * head_dim_, config.attention_bias));
  v_proj_ = register_module("v_proj", linear(C, n_kv_head_ * head_dim_, config.attention_bias));
  o_proj_ = register_module("o_proj", linear(n_head_ * head_dim_, C, config.attention_bias));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                          const torch::Tensor& bias, KVCache* cache) {
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_;
  auto q = q_proj_(x).view({B, T, n_head_, D}).transpose(1, 2);     // (B, H, T, D)
  auto k = k_proj_(x).view({B, T, n_kv_head_, D}).transpose(1, 2);  // (B, H_kv, T, D)
  auto v = v_proj_(x).view({B, T, n_kv_head_, D}).transpose(1, 2);
  q = apply_rotary(q, cos, sin);
  k = apply_rotary(k, cos, sin);
  if (cache != nullptr) std::tie(k, v) = cache->update(static_cast<size_t>(layer_idx_), k, v);
  const int64_t n_rep = n_head_ / n_kv_head_;
  auto y = decoder_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), bias, 1.0 / std::sqrt(static_cast<double>(D)),
                             dropout_, is_training());  // (B, H, T, D)
  return o_proj_(y.transpose(1, 2).contiguous().view({B, T, n_head_ * D}));
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& config)
    : act_(get_activation(config.hidden_act, "config.json: \"hidden_act\"")) {
  const int64_t C = config.hidden_size, I = config.intermediate_size;
  gate_proj_ = register_module("gate_proj", linear(C, I, config.mlp_bias));
  up_proj_ = register_module("up_proj", linear(C, I, config.mlp_bias));
  down_proj_ = register_module("down_proj", linear(I, C, config.mlp_bias));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) { return down_proj_(act_(gate_proj_(x)) * up_proj_(x)); }

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& config, int64_t layer_idx) {
  self_attn_ = register_module("self_attn", LlamaAttention(config, layer_idx));
  mlp_ = register_module("mlp", LlamaMLP(config));
  input_layernorm_ = register_module("input_layernorm", LlamaRMSNorm(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", LlamaRMSNorm(config.hidden_size, config.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                             const torch::Tensor& bias, KVCache* cache) {
  auto h = x + self_attn_(input_layernorm_(x), cos, sin, bias, cache);
  return h + mlp_(post_attention_layernorm_(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& config)
    : attention_dropout_(config.attention_dropout),
      rotary_(config.head_size(), config.rope_theta, config.rope_scaling, config.max_position_embeddings) {
  auto emb = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (auto pad = config.pad_token()) emb.padding_idx(*pad);
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(emb));
  init_embedding_(embed_tokens, config.initializer_range);
  torch::nn::ModuleList layers;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(LlamaDecoderLayer(config, i));
    layers->push_back(layers_.back());
  }
  register_module("layers", layers);
  norm_ = register_module("norm", LlamaRMSNorm(config.hidden_size, config.rms_norm_eps));
  for (auto& m : layers->modules()) {
    if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) {
      torch::nn::Linear holder(lin);
      init_linear_(holder, config.initializer_range);
    }
  }
}

torch::Tensor LlamaModelImpl::forward(const ModelInputs& inputs) {
  const auto& ids = inputs.input_ids;
  TORCH_CHECK(ids.defined() && ids.dim() == 2, "Llama: input_ids must be (B, T), got ", ids.sizes());
  const int64_t T = ids.size(1);
  const int64_t past = inputs.past_key_values ? inputs.past_key_values->seq_length() : 0;
  auto position_ids = inputs.position_ids.defined()
                          ? inputs.position_ids.to(ids.device())
                          : torch::arange(past, past + T, torch::TensorOptions().dtype(torch::kLong).device(ids.device()))
                                .unsqueeze(0);
  auto x = embed_tokens(ids);  // (B, T, C)
  if (neftune_noise_alpha && is_training()) x = add_neftune_noise(x, *neftune_noise_alpha);
  auto [cos, sin] = rotary_.cos_sin(position_ids, x.scalar_type());
  auto bias = decoder_attention_bias(inputs.attention_mask, T, past, attention_dropout_ > 0 && is_training(), x.device());
  const bool recompute = gradient_checkpointing && is_training() && inputs.past_key_values == nullptr;
  for (auto& layer : layers_)
    x = recompute ? checkpoint(*layer, {x, cos, sin, bias}) : layer(x, cos, sin, bias, inputs.past_key_values);
  return norm_(x);
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& config) : config_(config) {
  config_.validate("LlamaConfig");
  model_ = register_module("model", LlamaModel(config_));
  if (!config_.tie_word_embeddings) {
    lm_head_ = register_module("lm_head", linear(config_.hidden_size, config_.vocab_size, /*bias=*/false));
    init_linear_(lm_head_, config_.initializer_range);
  }
}

ModelOutput LlamaForCausalLMImpl::forward(const ModelInputs& inputs) {
  auto h = model_(inputs);  // (B, T, C)
  ModelOutput out;
  const auto& head = lm_head_ ? lm_head_->weight : model_->embed_tokens->weight;  // (V, C)
  if (use_fused_lm_loss(inputs.logits_optional, is_training(), inputs.labels, h, head)) {
    out.loss = causal_lm_loss_from_hidden(h, head, inputs.labels, inputs.num_items_in_batch);
    return out;
  }
  out.logits = lm_head_ ? lm_head_(h) : torch::matmul(h, head.t());  // (B, T, V)
  if (inputs.labels.defined()) out.loss = causal_lm_loss(out.logits, inputs.labels, inputs.num_items_in_batch);
  return out;
}

std::vector<std::string> LlamaForCausalLMImpl::tied_parameter_names() const {
  if (config_.tie_word_embeddings) return {"lm_head.weight"};
  return {};
}

torch::nn::Embedding LlamaForCausalLMImpl::get_input_embeddings() { return model_->embed_tokens; }

void LlamaForCausalLMImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(model_->embed_tokens, new_num_tokens);  // a tied head reads embed_tokens, so it follows
  if (lm_head_) {
    resize_lm_head_(lm_head_->weight, /*bias=*/nullptr, new_num_tokens);
    lm_head_->options.out_features(new_num_tokens);
  }
  config_.vocab_size = new_num_tokens;
}

bool LlamaForCausalLMImpl::ignore_unexpected_key(const std::string& name) const {
  // Rotary inverse frequencies that older transformers saved as a buffer.
  return name.find("rotary_emb.inv_freq") != std::string::npos;
}

LlamaForSequenceClassificationImpl::LlamaForSequenceClassificationImpl(const LlamaConfig& config) : config_(config) {
  config_.validate("LlamaConfig");
  model_ = register_module("model", LlamaModel(config_));
  score_ = register_module("score", linear(config_.hidden_size, num_labels(config_), /*bias=*/false));
  init_linear_(score_, config_.initializer_range);
  problem_type(config_);  // validates config.json's "problem_type" now rather than at the first loss
}

ModelOutput LlamaForSequenceClassificationImpl::forward(const ModelInputs& inputs) {
  auto logits = score_(model_(inputs));  // (B, T, L)
  ModelOutput out;
  out.logits = pool_last_non_pad_token(logits, inputs.input_ids, config_.pad_token());  // (B, L)
  if (inputs.labels.defined())
    out.loss = sequence_classification_loss(out.logits, inputs.labels, problem_type(config_), inputs.num_items_in_batch);
  return out;
}

bool LlamaForSequenceClassificationImpl::ignore_unexpected_key(const std::string& name) const {
  return name.find("rotary_emb.inv_freq") != std::string::npos;
}

void LlamaForSequenceClassificationImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(model_->embed_tokens, new_num_tokens);
  config_.vocab_size = new_num_tokens;
}

}  // namespace tcpp::models::llama
