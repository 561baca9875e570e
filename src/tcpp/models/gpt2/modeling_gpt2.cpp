// GPT-2 forward pass, top to bottom: embeddings, pre-LN blocks (attention + MLP), final LN, tied LM head, loss.
#include "tcpp/models/gpt2/modeling_gpt2.h"

#include <cctype>
#include <cmath>
#include <string_view>

#include "tcpp/core/strings.h"
#include "tcpp/models/common/attention.h"
#include "tcpp/models/common/linear_cross_entropy.h"
#include "tcpp/models/common/sequence_classification.h"

namespace tcpp::models::gpt2 {

GPT2AttentionImpl::GPT2AttentionImpl(const GPT2Config& config, int64_t layer_idx)
    : n_head_(config.n_head), layer_idx_(layer_idx), attn_pdrop_(config.attn_pdrop), resid_pdrop_(config.resid_pdrop) {
  const int64_t C = config.n_embd;
  c_attn_ = register_module("c_attn", Conv1D(C, 3 * C));
  c_proj_ = register_module("c_proj", Conv1D(C, C));
  scale_ = config.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(C / n_head_)) : 1.0;
  if (config.scale_attn_by_inverse_layer_idx) scale_ /= static_cast<double>(layer_idx + 1);
}

torch::Tensor GPT2AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& bias, KVCache* cache) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), H = n_head_, D = C / H;
  auto qkv = c_attn_(x).split(C, 2);                    // 3 x (B, T, C)
  auto q = qkv[0].view({B, T, H, D}).transpose(1, 2);   // (B, H, T, D)
  auto k = qkv[1].view({B, T, H, D}).transpose(1, 2);
  auto v = qkv[2].view({B, T, H, D}).transpose(1, 2);
  if (cache != nullptr) std::tie(k, v) = cache->update(static_cast<size_t>(layer_idx_), k, v);
  auto y = decoder_attention(q, k, v, bias, scale_, attn_pdrop_, is_training());  // (B, H, T, D)
  y = y.transpose(1, 2).contiguous().view({B, T, C});
  return torch::dropout(c_proj_(y), resid_pdrop_, is_training());
}

GPT2MLPImpl::GPT2MLPImpl(const GPT2Config& config)
    : act_(get_activation(config.activation_function, "config.json: \"activation_function\"")),
      resid_pdrop_(config.resid_pdrop) {
  c_fc_ = register_module("c_fc", Conv1D(config.n_embd, config.inner_dim()));
  c_proj_ = register_module("c_proj", Conv1D(config.inner_dim(), config.n_embd));
}

torch::Tensor GPT2MLPImpl::forward(const torch::Tensor& x) {
  return torch::dropout(c_proj_(act_(c_fc_(x))), resid_pdrop_, is_training());
}

GPT2BlockImpl::GPT2BlockImpl(const GPT2Config& config, int64_t layer_idx) {
  auto ln = torch::nn::LayerNormOptions({config.n_embd}).eps(config.layer_norm_epsilon);
  ln_1_ = register_module("ln_1", torch::nn::LayerNorm(ln));
  attn_ = register_module("attn", GPT2Attention(config, layer_idx));
  ln_2_ = register_module("ln_2", torch::nn::LayerNorm(ln));
  mlp_ = register_module("mlp", GPT2MLP(config));
}

torch::Tensor GPT2BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& bias, KVCache* cache) {
  auto h = x + attn_(ln_1_(x), bias, cache);
  return h + mlp_(ln_2_(h));
}

GPT2ModelImpl::GPT2ModelImpl(const GPT2Config& config) : config_(config) {
  const double std = config.initializer_range;
  wte = register_module("wte", torch::nn::Embedding(config.vocab_size, config.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(config.n_positions, config.n_embd));
  init_embedding_(wte, std);
  init_embedding_(wpe, std);
  torch::nn::ModuleList h;
  for (int64_t i = 0; i < config.n_layer; ++i) {
    blocks_.push_back(GPT2Block(config, i));
    h->push_back(blocks_.back());
  }
  register_module("h", h);
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(
                                      torch::nn::LayerNormOptions({config.n_embd}).eps(config.layer_norm_epsilon)));
  // _init_weights: every Conv1D weight normal(0, std), biases zero, LayerNorms ones/zeros; then the residual
  // projections (attn.c_proj, mlp.c_proj) get std / sqrt(2 n_layer), as in the GPT-2 paper.
  torch::NoGradGuard no_grad;
  const double proj_std = std / std::sqrt(2.0 * static_cast<double>(config.n_layer));
  for (auto& p : h->named_parameters()) {
    const std::string& name = p.key();
    if (p.value().dim() == 2) {
      const bool is_proj = name.size() >= 13 && name.compare(name.size() - 13, 13, "c_proj.weight") == 0;
      p.value().normal_(0.0, is_proj ? proj_std : std);
    } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      p.value().zero_();
    }
  }
}

torch::Tensor GPT2ModelImpl::forward(const ModelInputs& inputs) {
  const auto& ids = inputs.input_ids;
  TORCH_CHECK(ids.defined() && ids.dim() == 2, "GPT-2: input_ids must be (B, T), got ", ids.sizes());
  const int64_t T = ids.size(1);
  const int64_t past = inputs.past_key_values ? inputs.past_key_values->seq_length() : 0;
  TORCH_CHECK(past + T <= config_.n_positions, "GPT-2: sequence length ", past + T, " exceeds n_positions (",
              config_.n_positions, ")");
  auto position_ids = inputs.position_ids.defined()
                          ? inputs.position_ids.to(ids.device())
                          : torch::arange(past, past + T, torch::TensorOptions().dtype(torch::kLong).device(ids.device()))
                                .unsqueeze(0);
  auto tokens = wte(ids);
  if (neftune_noise_alpha && is_training()) tokens = add_neftune_noise(tokens, *neftune_noise_alpha);
  auto x = tokens + wpe(position_ids);  // (B, T, C)
  x = torch::dropout(x, config_.embd_pdrop, is_training());
  auto bias = decoder_attention_bias(inputs.attention_mask, T, past, config_.attn_pdrop > 0 && is_training(), x.device());
  const bool recompute = gradient_checkpointing && is_training() && inputs.past_key_values == nullptr;
  for (auto& block : blocks_) x = recompute ? checkpoint(*block, {x, bias}) : block(x, bias, inputs.past_key_values);
  return ln_f_(x);
}

GPT2LMHeadModelImpl::GPT2LMHeadModelImpl(const GPT2Config& config) : config_(config) {
  config_.validate("GPT2Config");
  transformer_ = register_module("transformer", GPT2Model(config_));
  if (!config_.tie_word_embeddings) {
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config_.n_embd, config_.vocab_size).bias(false)));
    init_linear_(lm_head_, config_.initializer_range);
  }
}

ModelOutput GPT2LMHeadModelImpl::forward(const ModelInputs& inputs) {
  auto h = transformer_(inputs);  // (B, T, C)
  ModelOutput out;
  // Tied: lm_head.weight is transformer.wte.weight (V, C).
  const auto& head = lm_head_ ? lm_head_->weight : transformer_->wte->weight;
  if (use_fused_lm_loss(inputs.logits_optional, is_training(), inputs.labels, h, head)) {
    out.loss = causal_lm_loss_from_hidden(h, head, inputs.labels, inputs.num_items_in_batch);
    return out;
  }
  out.logits = lm_head_ ? lm_head_(h) : torch::matmul(h, head.t());  // (B, T, V)
  if (inputs.labels.defined()) out.loss = causal_lm_loss(out.logits, inputs.labels, inputs.num_items_in_batch);
  return out;
}

std::vector<std::string> GPT2LMHeadModelImpl::tied_parameter_names() const {
  if (config_.tie_word_embeddings) return {"lm_head.weight"};
  return {};
}

torch::nn::Embedding GPT2LMHeadModelImpl::get_input_embeddings() { return transformer_->wte; }

void GPT2LMHeadModelImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(transformer_->wte, new_num_tokens);  // a tied head reads wte, so it follows
  if (lm_head_) {
    resize_lm_head_(lm_head_->weight, /*bias=*/nullptr, new_num_tokens);
    lm_head_->options.out_features(new_num_tokens);
  }
  config_.vocab_size = new_num_tokens;
}

namespace {

// Causal-mask buffers that older transformers saved with the weights: (^|\.)h\.[0-9]+\.attn\.(masked_)?bias$,
// by hand (the names come from the checkpoint; std::regex would recurse once per digit).
bool is_old_attention_mask_buffer(const std::string& name) {
  for (const std::string_view suffix : {".attn.bias", ".attn.masked_bias"}) {
    if (!ends_with(name, suffix)) continue;
    const size_t end = name.size() - suffix.size();
    size_t i = end;
    while (i > 0 && std::isdigit(static_cast<unsigned char>(name[i - 1]))) --i;
    if (i == end || i < 2 || name.compare(i - 2, 2, "h.") != 0) continue;
    if (i == 2 || name[i - 3] == '.') return true;
  }
  return false;
}

}  // namespace

bool GPT2LMHeadModelImpl::ignore_unexpected_key(const std::string& name) const {
  return is_old_attention_mask_buffer(name);
}

GPT2ForSequenceClassificationImpl::GPT2ForSequenceClassificationImpl(const GPT2Config& config) : config_(config) {
  config_.validate("GPT2Config");
  transformer_ = register_module("transformer", GPT2Model(config_));
  score_ = register_module(
      "score", torch::nn::Linear(torch::nn::LinearOptions(config_.n_embd, num_labels(config_)).bias(false)));
  init_linear_(score_, config_.initializer_range);
  problem_type(config_);  // validates config.json's "problem_type" now rather than at the first loss
}

ModelOutput GPT2ForSequenceClassificationImpl::forward(const ModelInputs& inputs) {
  auto logits = score_(transformer_(inputs));  // (B, T, L)
  ModelOutput out;
  out.logits = pool_last_non_pad_token(logits, inputs.input_ids, config_.pad_token());  // (B, L)
  if (inputs.labels.defined())
    out.loss = sequence_classification_loss(out.logits, inputs.labels, problem_type(config_), inputs.num_items_in_batch);
  return out;
}

bool GPT2ForSequenceClassificationImpl::ignore_unexpected_key(const std::string& name) const {
  return is_old_attention_mask_buffer(name);
}

void GPT2ForSequenceClassificationImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(transformer_->wte, new_num_tokens);
  config_.vocab_size = new_num_tokens;
}

}  // namespace tcpp::models::gpt2
