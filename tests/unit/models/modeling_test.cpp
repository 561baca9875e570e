// Tests for the model families: logits, loss and gradients against an independent PyTorch reference
// (ref/reference_models.py), HF initialisation, dropout, loss reductions, dtypes, save/load round trips, bad checkpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <torch/torch.h>

#include "test_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/common/activations.h"
#include "tcpp/models/safetensors.h"

namespace tcpp::models {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

constexpr const char* kTinyGpt2 =
    "vocab_size=50,n_positions=16,n_embd=16,n_layer=2,n_head=2,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0";
constexpr const char* kTinyBert =
    "vocab_size=50,hidden_size=16,num_hidden_layers=2,num_attention_heads=2,intermediate_size=24,"
    "max_position_embeddings=20,hidden_dropout_prob=0,attention_probs_dropout_prob=0";
constexpr const char* kTinyLlama =
    "vocab_size=50,hidden_size=16,intermediate_size=24,num_hidden_layers=2,num_attention_heads=4,"
    "num_key_value_heads=2,rope_theta=500.0,max_position_embeddings=32";

PreTrainedModel tiny(const std::string& model_type, const std::string& overrides, uint64_t seed = 0) {
  torch::manual_seed(seed);
  auto config = AutoConfig::for_model(model_type);
  config->update_from_string(overrides);
  auto model = model_from_config(*config);
  model->eval();
  return model;
}

bool is_weight(const std::string& name) { return name.size() > 7 && name.substr(name.size() - 7) == ".weight"; }

using Family = std::pair<const char*, const char*>;  // model_type, config_overrides

// Spread every parameter so that a wrong name, layout or norm parameter changes the logits visibly.
void randomize(PreTrainedModelImpl& model, uint64_t seed = 1) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    bool norm_weight = p.value().dim() == 1 && is_weight(p.key());
    p.value().normal_(norm_weight ? 1.0 : 0.0, 0.3);
  }
}

ModelInputs batch(bool with_labels) {
  ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2, 44, 7, 31}, {3, 17, 8, 26, 1, 1, 1}}, torch::kLong);
  in.attention_mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}}, torch::kLong);
  if (with_labels) in.labels = torch::tensor({{5, 9, -100, 2, 44, 7, 31}, {3, 17, 8, 26, -100, -100, -100}}, torch::kLong);
  return in;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Run ref/reference_models.py on the saved model and inputs; returns its outputs, or nothing when torch is missing.
std::optional<std::map<std::string, torch::Tensor>> run_reference(const std::string& model_dir, const ModelInputs& in,
                                                                  const TempDir& tmp, bool grads) {
  NamedTensors inputs = {{"input_ids", in.input_ids}};
  if (in.attention_mask.defined()) inputs.emplace_back("attention_mask", in.attention_mask);
  if (in.labels.defined()) inputs.emplace_back("labels", in.labels);
  save_safetensors(tmp.file("inputs.safetensors"), inputs);
  std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR +
                    "/tests/unit/models/ref/reference_models.py " + model_dir + " " + tmp.file("inputs.safetensors") +
                    " " + tmp.file("out.safetensors") + (grads ? " --grads" : "") + " 2>" + tmp.file("ref.log");
  int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) return std::nullopt;
  EXPECT_EQ(rc, 0) << "reference failed: " << read_file(tmp.file("ref.log"));
  std::map<std::string, torch::Tensor> out;
  if (rc != 0) return out;
  for (auto& [name, t] : load_safetensors(tmp.file("out.safetensors"))) out[name] = t.clone();
  return out;
}

// Tolerance 1e-4 absolute (fp32) on logits, loss and every gradient; prints the first mismatch.
void expect_matches_reference(const std::string& model_type, const std::string& overrides) {
  auto model = tiny(model_type, overrides);
  randomize(*model);
  TempDir tmp;
  save_pretrained(*model, tmp.file("model"));
  auto in = batch(/*with_labels=*/true);
  auto ref = run_reference(tmp.file("model"), in, tmp, /*grads=*/true);
  if (!ref) GTEST_SKIP() << "/usr/bin/python3 with torch is not available";
  ASSERT_TRUE(ref->count("logits")) << "reference wrote no logits";
  model->zero_grad();
  auto out = model->forward(in);
  out.loss.backward();
  EXPECT_EQ(out.logits.sizes(), ref->at("logits").sizes());
  EXPECT_LT(max_abs_diff(out.logits, ref->at("logits")), 1e-4) << model_type << " logits";
  EXPECT_LT(max_abs_diff(out.loss.reshape({1}), ref->at("loss")), 1e-4) << model_type << " loss";
  int compared = 0;
  for (auto& p : model->named_parameters()) {
    auto it = ref->find("grad." + p.key());
    ASSERT_NE(it, ref->end()) << "reference has no gradient for " << p.key();
    EXPECT_LT(max_abs_diff(p.value().grad(), it->second), 1e-4) << model_type << " gradient of " << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 10);
}

TEST(ModelingTest, Gpt2LogitsLossAndGradientsMatchPyTorchReference) { expect_matches_reference("gpt2", kTinyGpt2); }

TEST(ModelingTest, BertLogitsLossAndGradientsMatchPyTorchReference) { expect_matches_reference("bert", kTinyBert); }

TEST(ModelingTest, RobertaLogitsLossAndGradientsMatchPyTorchReference) {
  expect_matches_reference("roberta", std::string(kTinyBert) + ",pad_token_id=1");
}

TEST(ModelingTest, LlamaWithGroupedQueryAttentionMatchesPyTorchReference) {
  expect_matches_reference("llama", kTinyLlama);
}

TEST(ModelingTest, TiedLlamaHeadWithoutGqaMatchesPyTorchReference) {
  expect_matches_reference("llama", std::string(kTinyLlama) + ",tie_word_embeddings=true,num_key_value_heads=4");
}

// gelu_new runs as ATen's fused tanh-approximate gelu: the same values and gradients as transformers'
// NewGELUActivation formula, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), up to float rounding.
TEST(ModelingTest, GeluNewEqualsTheNewGeluFormulaInValueAndGradient) {
  auto x = (torch::randn({4096}) * 4.0).requires_grad_(true);
  auto want = 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
  auto want_grad = torch::autograd::grad({want.sum()}, {x})[0];
  for (const char* name : {"gelu_new", "gelu_pytorch_tanh"}) {
    auto got = get_activation(name, "test")(x);
    auto got_grad = torch::autograd::grad({got.sum()}, {x})[0];
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << name;
    EXPECT_TRUE(torch::allclose(got_grad, want_grad, 1e-5, 1e-6)) << name;
  }
}

TEST(ModelingTest, Gpt2HasHfParameterNamesAndConv1DLayout) {
  auto model = tiny("gpt2", kTinyGpt2);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(shapes.at("transformer.h.0.attn.c_attn.weight"), (std::vector<int64_t>{16, 48}));
  EXPECT_EQ(shapes.at("transformer.h.1.mlp.c_fc.weight"), (std::vector<int64_t>{16, 64}));
  EXPECT_EQ(shapes.at("transformer.wte.weight"), (std::vector<int64_t>{50, 16}));
  EXPECT_TRUE(shapes.count("transformer.ln_f.bias"));
  EXPECT_FALSE(shapes.count("lm_head.weight"));  // tied: stored once, as transformer.wte.weight
  EXPECT_EQ(model->tied_parameter_names(), std::vector<std::string>{"lm_head.weight"});
}

TEST(ModelingTest, Gpt2InitialisationFollowsTransformers) {
  auto model = tiny("gpt2", "n_embd=256,n_layer=8,n_head=4,vocab_size=64,n_positions=8");
  auto params = model->named_parameters();
  const double std = 0.02, proj_std = 0.02 / std::sqrt(16.0);
  EXPECT_NEAR(params["transformer.h.0.attn.c_attn.weight"].std().item<double>(), std, std * 0.05);
  EXPECT_NEAR(params["transformer.h.3.attn.c_proj.weight"].std().item<double>(), proj_std, proj_std * 0.05);
  EXPECT_NEAR(params["transformer.h.3.mlp.c_proj.weight"].std().item<double>(), proj_std, proj_std * 0.05);
  EXPECT_NEAR(params["transformer.wte.weight"].std().item<double>(), std, std * 0.1);
  EXPECT_EQ(params["transformer.h.0.attn.c_attn.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(params["transformer.h.0.ln_1.weight"], torch::ones({256})));
}

TEST(ModelingTest, BertPaddingRowIsZeroAndHeadBiasStartsAtZero) {
  auto model = tiny("bert", kTinyBert);
  auto params = model->named_parameters();
  EXPECT_EQ(params["bert.embeddings.word_embeddings.weight"][0].abs().sum().item<double>(), 0.0);
  EXPECT_GT(params["bert.embeddings.word_embeddings.weight"][1].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(params["cls.predictions.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(params.contains("bert.pooler.dense.weight"));
}

TEST(ModelingTest, DropoutActsInTrainModeOnly) {
  auto model = tiny("gpt2", "vocab_size=50,n_positions=16,n_embd=16,n_layer=2,n_head=2");
  auto in = batch(/*with_labels=*/false);
  model->train();
  auto a = model->forward(in).logits, b = model->forward(in).logits;
  EXPECT_FALSE(torch::allclose(a, b));
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(in).logits, model->forward(in).logits));
}

TEST(ModelingTest, GradientCheckpointingGivesTheSameLossAndGradients) {
  const std::string with_dropout = "vocab_size=50,n_positions=16,n_embd=16,n_layer=2,n_head=2";  // dropout 0.1
  for (auto [type, overrides] : std::vector<std::pair<std::string, std::string>>{
           {"gpt2", with_dropout}, {"llama", kTinyLlama}, {"roberta", "vocab_size=50,hidden_size=16,num_hidden_layers=2,"
                                                          "num_attention_heads=2,intermediate_size=24,max_position_embeddings=20"}}) {
    auto model = tiny(type, overrides);
    model->train();
    auto in = batch(/*with_labels=*/true);
    auto run = [&](bool recompute) {
      model->set_gradient_checkpointing(recompute);
      model->zero_grad();
      torch::manual_seed(7);  // same dropout masks in both runs
      auto loss = model->forward(in).loss;
      loss.backward();
      std::map<std::string, torch::Tensor> grads;
      for (auto& p : model->named_parameters()) grads[p.key()] = p.value().grad().clone();
      return std::make_pair(loss.item<double>(), grads);
    };
    auto [plain_loss, plain] = run(false);
    auto [ckpt_loss, ckpt] = run(true);
    EXPECT_NEAR(plain_loss, ckpt_loss, 1e-6) << type;
    for (auto& [name, g] : plain) EXPECT_LT(max_abs_diff(g, ckpt[name]), 1e-6) << type << " " << name;
  }
}

TEST(ModelingTest, NumItemsInBatchTurnsMeanIntoSumOverCount) {
  auto model = tiny("llama", kTinyLlama);
  auto in = batch(/*with_labels=*/true);
  auto mean = model->forward(in).loss.item<double>();
  // The causal shift scores labels[:, 1:], of which 5 + 3 are not -100.
  in.num_items_in_batch = 20;
  auto per_item = model->forward(in).loss.item<double>();
  EXPECT_NEAR(per_item, mean * 8 / 20, 1e-5);
}

TEST(ModelingTest, LabelsOfIgnoredPositionsDoNotChangeTheLoss) {
  auto model = tiny("bert", kTinyBert);
  auto in = batch(/*with_labels=*/true);
  auto loss = model->forward(in).loss.item<double>();
  in.input_ids[1][5] = 40;  // under attention_mask 0 and label -100: must not matter
  EXPECT_NEAR(model->forward(in).loss.item<double>(), loss, 1e-6);
}

TEST(ModelingTest, Bfloat16ModelsRunAndStayCloseToFloat32) {
  for (auto [type, overrides] : std::vector<Family>{{"gpt2", kTinyGpt2}, {"llama", kTinyLlama}, {"bert", kTinyBert}}) {
    auto model = tiny(type, overrides);
    auto in = batch(/*with_labels=*/true);
    auto ref = model->forward(in);
    model->to(torch::kBFloat16);
    auto out = model->forward(in);
    EXPECT_EQ(out.logits.scalar_type(), torch::kBFloat16) << type;
    EXPECT_EQ(out.loss.scalar_type(), torch::kFloat32) << type;
    EXPECT_LT(max_abs_diff(out.logits, ref.logits), 0.05) << type;
  }
}

TEST(ModelingTest, SaveThenLoadGivesIdenticalLogitsForEveryFamily) {
  for (auto [type, overrides] :
       std::vector<Family>{{"gpt2", kTinyGpt2}, {"bert", kTinyBert}, {"roberta", kTinyBert}, {"llama", kTinyLlama}}) {
    auto model = tiny(type, overrides);
    randomize(*model);
    TempDir dir;
    save_pretrained(*model, dir.path());
    LoadReport report;
    auto back = model_from_pretrained(dir.path(), ModelTask::kAny, {}, &report);
    back->eval();
    EXPECT_TRUE(report.missing_keys.empty()) << type;
    EXPECT_TRUE(report.unexpected_keys.empty()) << type;
    auto in = batch(/*with_labels=*/false);
    EXPECT_TRUE(torch::equal(model->forward(in).logits, back->forward(in).logits)) << type;
    Json saved = back->config_json(), original = model->config_json();
    for (const char* added : {"architectures", "torch_dtype"}) saved.erase(added), original.erase(added);  // set by save
    EXPECT_EQ(saved, original) << type;
  }
}

TEST(ModelingTest, SavedFilesHaveTransformersLayout) {
  auto model = tiny("gpt2", kTinyGpt2);
  TempDir dir;
  save_pretrained(*model, dir.path());
  Json config = read_json_file(dir.file("config.json"));
  EXPECT_EQ(config["architectures"], Json::array({"GPT2LMHeadModel"}));
  EXPECT_EQ(config["model_type"], "gpt2");
  EXPECT_EQ(config["torch_dtype"], "float32");
  EXPECT_EQ(config["n_embd"], 16);
  Json gen = read_json_file(dir.file("generation_config.json"));
  EXPECT_EQ(gen["bos_token_id"], 50256);
  EXPECT_EQ(gen["_from_model_config"], true);
  auto f = SafetensorsFile::open(dir.file("model.safetensors"));
  EXPECT_FALSE(f.contains("lm_head.weight"));
  EXPECT_TRUE(f.contains("transformer.h.1.attn.c_proj.bias"));
  EXPECT_EQ(f.metadata().at("format"), "pt");

  auto bert = tiny("bert", kTinyBert);
  TempDir bdir;
  save_pretrained(*bert, bdir.path());
  EXPECT_FALSE(fs::exists(bdir.file("generation_config.json")));  // not a generative model
}

TEST(ModelingTest, ShardedSaveLoadsBackIdentically) {
  auto model = tiny("llama", kTinyLlama);
  randomize(*model);
  TempDir dir;
  SaveOptions opts;
  opts.max_shard_size = 4000;
  save_pretrained(*model, dir.path(), opts);
  EXPECT_TRUE(fs::exists(dir.file("model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors")));
  auto back = model_from_pretrained(dir.path(), ModelTask::kCausalLM);
  back->eval();
  auto in = batch(/*with_labels=*/false);
  EXPECT_TRUE(torch::equal(model->forward(in).logits, back->forward(in).logits));
}

TEST(ModelingTest, BaseModelCheckpointLoadsIntoHeadModel) {
  auto model = tiny("gpt2", kTinyGpt2);
  randomize(*model);
  TempDir dir;
  save_pretrained(*model, dir.path());
  // Re-save as GPT2Model does: no "transformer." prefix, plus the old mask buffers.
  NamedTensors base;
  for (auto& [name, t] : state_dict(*model)) base.emplace_back(name.substr(std::string("transformer.").size()), t);
  base.emplace_back("h.0.attn.bias", torch::ones({1, 1, 16, 16}));
  save_safetensors(dir.file("model.safetensors"), base);
  LoadReport report;
  auto back = model_from_pretrained(dir.path(), ModelTask::kCausalLM, {}, &report);
  back->eval();
  EXPECT_TRUE(report.missing_keys.empty());
  EXPECT_TRUE(report.unexpected_keys.empty());
  auto in = batch(/*with_labels=*/false);
  EXPECT_TRUE(torch::equal(model->forward(in).logits, back->forward(in).logits));
}

// GPT-2's _keys_to_ignore_on_load_unexpected, (^|\.)h\.[0-9]+\.attn\.(masked_)?bias$, on names from the file
// (a very long one included).
TEST(ModelingTest, Gpt2IgnoresOnlyTheOldMaskBuffers) {
  auto model = tiny("gpt2", kTinyGpt2);
  for (const std::string& name :
       std::vector<std::string>{"h.0.attn.bias", "transformer.h.11.attn.masked_bias", ".h.3.attn.bias",
                                "transformer.h." + std::string(100000, '7') + ".attn.bias"})
    EXPECT_TRUE(model->ignore_unexpected_key(name)) << name.substr(0, 40);
  for (const std::string name : {"h.attn.bias", "xh.0.attn.bias", "h.0.attn.c_attn.bias", "h.0x.attn.bias",
                                 "h.0.attn.biasx", "h.0.attn.masked_biasx", "0.attn.bias", "attn.bias"})
    EXPECT_FALSE(model->ignore_unexpected_key(name)) << name;
}

// torch_dtype="auto": config.json's torch_dtype, else v5's "dtype", else the first floating-point tensor's dtype.
TEST(ModelingTest, AutoDtypeFollowsTheConfigThenTheWeights) {
  auto model = tiny("gpt2", kTinyGpt2);
  model->to(torch::kBFloat16);
  TempDir dir;
  save_pretrained(*model, dir.path());
  LoadOptions automatic;
  automatic.auto_dtype = true;
  auto dtype_of = [&](const LoadOptions& o) {
    return model_from_pretrained(dir.path(), ModelTask::kCausalLM, o)->parameters().front().scalar_type();
  };
  EXPECT_EQ(dtype_of(automatic), torch::kBFloat16);
  EXPECT_EQ(dtype_of(LoadOptions{}), torch::kFloat32);  // without auto, float32 as transformers
  Json config = read_json_file(dir.file("config.json"));
  config.erase("torch_dtype");
  config["dtype"] = "float16";
  write_file_atomic(dir.file("config.json"), config.dump());
  EXPECT_EQ(dtype_of(automatic), torch::kFloat16);
  config.erase("dtype");
  write_file_atomic(dir.file("config.json"), config.dump());
  EXPECT_EQ(dtype_of(automatic), torch::kBFloat16);  // the checkpoint's tensors
  config["torch_dtype"] = "float8";
  write_file_atomic(dir.file("config.json"), config.dump());
  EXPECT_THAT([&] { dtype_of(automatic); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("config.json: torch_dtype"), HasSubstr("\"float8\""))));
}

TEST(ModelingTest, MissingAndUnexpectedKeysAreReportedAndStrictRejectsThem) {
  auto model = tiny("gpt2", kTinyGpt2);
  TempDir dir;
  save_pretrained(*model, dir.path());
  NamedTensors tensors;
  for (auto& [name, t] : state_dict(*model))
    if (name != "transformer.ln_f.weight") tensors.emplace_back(name, t);
  tensors.emplace_back("score.weight", torch::zeros({2, 16}));
  save_safetensors(dir.file("model.safetensors"), tensors);
  LoadReport report;
  model_from_pretrained(dir.path(), ModelTask::kAny, {}, &report);
  EXPECT_EQ(report.missing_keys, std::vector<std::string>{"transformer.ln_f.weight"});
  EXPECT_EQ(report.unexpected_keys, std::vector<std::string>{"score.weight"});
  LoadOptions strict;
  strict.strict = true;
  EXPECT_THAT([&] { model_from_pretrained(dir.path(), ModelTask::kAny, strict); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("score.weight"))));
}

TEST(ModelingTest, WrongShapesNameTheTensor) {
  auto model = tiny("gpt2", kTinyGpt2);
  TempDir dir;
  save_pretrained(*model, dir.path());
  Json config = read_json_file(dir.file("config.json"));
  config["vocab_size"] = 60;
  write_file_atomic(dir.file("config.json"), config.dump());
  EXPECT_THAT([&] { model_from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("transformer.wte.weight"),
                                              HasSubstr("[50, 16]"), HasSubstr("[60, 16]"))));
}

TEST(ModelingTest, BadCheckpointFilesGiveClearErrors) {
  auto model = tiny("bert", kTinyBert);
  TempDir dir;
  save_pretrained(*model, dir.path());
  std::string weights = testing::read_bytes(dir.file("model.safetensors"));
  testing::write_text(dir.file("model.safetensors"), weights.substr(0, weights.size() / 2));
  EXPECT_THAT([&] { model_from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("past the end"))));

  Json config = read_json_file(dir.file("config.json"));
  config.erase("model_type");
  write_file_atomic(dir.file("config.json"), config.dump());
  EXPECT_THAT([&] { model_from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("config.json"), HasSubstr("missing \"model_type\""))));

  fs::remove(dir.file("config.json"));
  EXPECT_THAT([&] { model_from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(dir.path()), HasSubstr("no config.json"))));
  EXPECT_THAT([&] { model_from_pretrained(dir.file("nope")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("nope"), HasSubstr("no network download"))));
}

TEST(ModelingTest, TaskSpecificAutoClassesRefuseOtherHeads) {
  auto config = AutoConfig::for_model("bert");
  EXPECT_THAT([&] { AutoModelForCausalLM::from_config(*config); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("\"bert\""), HasSubstr("AutoModelForCausalLM"))));
  EXPECT_THAT([] { AutoModelForMaskedLM::from_config(*AutoConfig::for_model("llama")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("\"llama\""), HasSubstr("AutoModelForMaskedLM"))));
  auto roberta = AutoConfig::for_model("roberta");
  roberta->update_from_string(kTinyBert);
  EXPECT_EQ(AutoModelForMaskedLM::from_config(*roberta)->architecture(), "RobertaForMaskedLM");
}

}  // namespace
}  // namespace tcpp::models
