// BERT forward pass, top to bottom: embeddings (word + position + token type, LN), post-LN encoder layers, MLM head.
#include "tcpp/models/bert/modeling_bert.h"

#include <cmath>

#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models::bert {
namespace {

torch::nn::LayerNorm layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

torch::nn::Linear linear(int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out)); }

// An empty module that only names a level of the parameter tree ("attention", "cls.predictions", ...).
std::shared_ptr<torch::nn::Module> container() { return std::make_shared<torch::nn::Module>(); }

}  // namespace

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config, PositionIds position_ids)
    : position_ids_(position_ids), padding_idx_(config.pad_token().value_or(0)), dropout_(config.hidden_dropout_prob) {
  auto word = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (auto pad = config.pad_token()) word.padding_idx(*pad);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word));
  auto pos = torch::nn::EmbeddingOptions(config.max_position_embeddings, config.hidden_size);
  if (position_ids == PositionIds::kPaddingOffset) pos.padding_idx(padding_idx_);
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(pos));
  token_type_embeddings =
      register_module("token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, config.hidden_size));
  layer_norm_ = register_module("LayerNorm", layer_norm(config));
}

torch::Tensor BertEmbeddingsImpl::forward(const ModelInputs& inputs) {
  const auto& ids = inputs.input_ids;
  const int64_t T = ids.size(1);
  torch::Tensor position_ids = inputs.position_ids;
  if (!position_ids.defined()) {
    if (position_ids_ == PositionIds::kAbsolute) {
      position_ids = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(ids.device())).unsqueeze(0);
    } else {
      // create_position_ids_from_input_ids: count non-pad tokens, offset by padding_idx; pads stay at padding_idx.
      auto mask = ids.ne(padding_idx_).to(torch::kLong);
      position_ids = torch::cumsum(mask, 1) * mask + padding_idx_;
    }
  }
  TORCH_CHECK(position_ids.max().item<int64_t>() < position_embeddings->options.num_embeddings(),
              "position id ", position_ids.max().item<int64_t>(), " exceeds max_position_embeddings (",
              position_embeddings->options.num_embeddings(), "); sequences are too long for this model");
  auto token_type_ids = inputs.token_type_ids.defined() ? inputs.token_type_ids : torch::zeros_like(ids);
  auto words = word_embeddings(ids);
  if (neftune_noise_alpha && is_training()) words = add_neftune_noise(words, *neftune_noise_alpha);
  auto x = words + token_type_embeddings(token_type_ids) + position_embeddings(position_ids);
  return torch::dropout(layer_norm_in_weight_dtype(layer_norm_, x), dropout_, is_training());
}

BertLayerImpl::BertLayerImpl(const BertConfig& config)
    : n_head_(config.num_attention_heads),
      hidden_dropout_(config.hidden_dropout_prob),
      attn_dropout_(config.attention_probs_dropout_prob),
      act_(get_activation(config.hidden_act, "config.json: \"hidden_act\"")) {
  const int64_t C = config.hidden_size, I = config.intermediate_size;
  auto attention = register_module("attention", container());
  auto self = attention->register_module("self", container());
  query_ = self->register_module("query", linear(C, C));
  key_ = self->register_module("key", linear(C, C));
  value_ = self->register_module("value", linear(C, C));
  auto attention_output = attention->register_module("output", container());
  attn_out_ = attention_output->register_module("dense", linear(C, C));
  attn_norm_ = attention_output->register_module("LayerNorm", layer_norm(config));
  inter_ = register_module("intermediate", container())->register_module("dense", linear(C, I));
  auto output = register_module("output", container());
  out_ = output->register_module("dense", linear(I, C));
  out_norm_ = output->register_module("LayerNorm", layer_norm(config));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), H = n_head_, D = C / H;
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };  // (B, H, T, D)
  auto ctx = eager_attention(heads(query_(x)), heads(key_(x)), heads(value_(x)), bias,
                             1.0 / std::sqrt(static_cast<double>(D)), attn_dropout_, is_training());
  ctx = ctx.transpose(1, 2).contiguous().view({B, T, C});
  auto a = torch::dropout(attn_out_(ctx), hidden_dropout_, is_training()) + x;
  a = layer_norm_in_weight_dtype(attn_norm_, a);  // post-LN
  auto i = act_(inter_(a));
  return layer_norm_in_weight_dtype(out_norm_, torch::dropout(out_(i), hidden_dropout_, is_training()) + a);
}

BertModelImpl::BertModelImpl(const BertConfig& config, PositionIds position_ids) {
  embeddings = register_module("embeddings", BertEmbeddings(config, position_ids));
  auto encoder = register_module("encoder", container());
  torch::nn::ModuleList layer;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(BertLayer(config));
    layer->push_back(layers_.back());
  }
  encoder->register_module("layer", layer);
}

torch::Tensor BertModelImpl::forward(const ModelInputs& inputs) {
  TORCH_CHECK(inputs.input_ids.defined() && inputs.input_ids.dim() == 2, "BERT: input_ids must be (B, T), got ",
              inputs.input_ids.sizes());
  auto x = embeddings(inputs);  // (B, T, C)
  auto bias = attention_bias(inputs.attention_mask, x.size(1), /*past_length=*/0, /*causal=*/false, torch::kFloat32,
                             x.device());
  const bool recompute = gradient_checkpointing && is_training();
  for (auto& layer : layers_) x = recompute ? checkpoint(*layer, {x, bias}) : layer(x, bias);
  return x;
}

void init_bert_weights(torch::nn::Module& module, double std) {
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) {
      torch::nn::Linear holder(lin);
      init_linear_(holder, std);
    } else if (auto emb = std::dynamic_pointer_cast<torch::nn::EmbeddingImpl>(m)) {
      torch::nn::Embedding holder(emb);
      init_embedding_(holder, std);
    }
    // LayerNorm keeps LibTorch's ones / zeros.
  }
}

BertForMaskedLMImpl::BertForMaskedLMImpl(const BertConfig& config)
    : config_(config), act_(get_activation(config.hidden_act, "config.json: \"hidden_act\"")) {
  config_.validate("BertConfig");
  const int64_t C = config_.hidden_size, V = config_.vocab_size;
  bert_ = register_module("bert", BertModel(config_, PositionIds::kAbsolute));
  auto predictions = register_module("cls", container())->register_module("predictions", container());
  auto transform = predictions->register_module("transform", container());
  transform_dense_ = transform->register_module("dense", linear(C, C));
  transform_norm_ = transform->register_module("LayerNorm", layer_norm(config_));
  bias_ = predictions->register_parameter("bias", torch::zeros({V}));
  if (!config_.tie_word_embeddings) {
    auto decoder = predictions->register_module("decoder", container());
    decoder_weight_ = decoder->register_parameter("weight", torch::empty({V, C}));
  }
  init_bert_weights(*this, config_.initializer_range);
  if (decoder_weight_.defined()) init_normal_(decoder_weight_, config_.initializer_range);
}

ModelOutput BertForMaskedLMImpl::forward(const ModelInputs& inputs) {
  auto h = bert_(inputs);                                  // (B, T, C)
  h = layer_norm_in_weight_dtype(transform_norm_, act_(transform_dense_(h)));  // BertPredictionHeadTransform
  const auto& w = decoder_weight_.defined() ? decoder_weight_ : bert_->embeddings->word_embeddings->weight;
  ModelOutput out;
  out.logits = torch::matmul(h, w.t()) + bias_;            // (B, T, V); decoder.bias is cls.predictions.bias
  if (inputs.labels.defined()) out.loss = masked_lm_loss(out.logits, inputs.labels, inputs.num_items_in_batch);
  return out;
}

std::vector<std::string> BertForMaskedLMImpl::tied_parameter_names() const {
  if (config_.tie_word_embeddings) return {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"};
  return {"cls.predictions.decoder.bias"};
}

torch::nn::Embedding BertForMaskedLMImpl::get_input_embeddings() { return bert_->embeddings->word_embeddings; }

void BertForMaskedLMImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(bert_->embeddings->word_embeddings, new_num_tokens);
  // cls.predictions.bias is decoder.bias: resized with an untied decoder, zero-padded when tied (_tie_or_clone_weights).
  if (decoder_weight_.defined())
    resize_lm_head_(decoder_weight_, &bias_, new_num_tokens);
  else
    resize_tied_bias_(bias_, new_num_tokens);
  config_.vocab_size = new_num_tokens;
}

bool BertForMaskedLMImpl::ignore_unexpected_key(const std::string& name) const {
  // BertForMaskedLM drops the pooler and NSP head that pre-training checkpoints carry, and the old position_ids buffer.
  return name.rfind("bert.pooler.", 0) == 0 || name.rfind("cls.seq_relationship.", 0) == 0 ||
         name == "bert.embeddings.position_ids";
}

}  // namespace tcpp::models::bert
