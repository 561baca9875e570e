// Tests for models/config and the family configs: HF defaults, config.json round trips, update_from_string typing.
#include "tcpp/models/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/bert/configuration_bert.h"
#include "tcpp/models/gpt2/configuration_gpt2.h"
#include "tcpp/models/llama/configuration_llama.h"

namespace tcpp::models {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(ConfigTest, Gpt2DefaultsMatchTransformers) {
  Json j = gpt2::GPT2Config().to_json();
  EXPECT_EQ(j["model_type"], "gpt2");
  EXPECT_EQ(j["vocab_size"], 50257);
  EXPECT_EQ(j["n_positions"], 1024);
  EXPECT_EQ(j["n_embd"], 768);
  EXPECT_TRUE(j["n_inner"].is_null());
  EXPECT_EQ(j["activation_function"], "gelu_new");
  EXPECT_DOUBLE_EQ(j["layer_norm_epsilon"].get<double>(), 1e-5);
  EXPECT_EQ(j["bos_token_id"], 50256);
  EXPECT_EQ(j["eos_token_id"], 50256);
  EXPECT_EQ(j["tie_word_embeddings"], true);
}

TEST(ConfigTest, RobertaReusesBertWithItsOwnDefaults) {
  bert::RobertaConfig r;
  bert::BertConfig b;
  EXPECT_EQ(r.model_type(), "roberta");
  EXPECT_EQ(r.vocab_size, 50265);
  EXPECT_EQ(r.pad_token_id, 1);
  EXPECT_EQ(r.bos_token_id, 0);
  EXPECT_EQ(r.eos_token_id, 2);
  EXPECT_EQ(b.vocab_size, 30522);
  EXPECT_EQ(b.pad_token_id, 0);
  EXPECT_DOUBLE_EQ(b.layer_norm_eps, 1e-12);
}

TEST(ConfigTest, LlamaFillsKeyValueHeadsAndHeadDimOnLoad) {
  llama::LlamaConfig c;
  c.update_from_json(Json{{"hidden_size", 64}, {"num_attention_heads", 4}}, "config.json");
  EXPECT_EQ(c.kv_heads(), 4);
  EXPECT_EQ(c.head_size(), 16);
  EXPECT_EQ(c.to_json()["num_key_value_heads"], 4);
  EXPECT_EQ(c.to_json()["tie_word_embeddings"], false);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
}

TEST(ConfigTest, UnknownFieldsArePreservedOnSave) {
  Json in = {{"model_type", "gpt2"}, {"n_embd", 64}, {"n_head", 4}, {"transformers_version", "4.44.0"},
             {"task_specific_params", {{"text-generation", {{"do_sample", true}}}}}};
  auto c = AutoConfig::from_json(in);
  Json out = c->to_json();
  EXPECT_EQ(out["transformers_version"], "4.44.0");
  EXPECT_EQ(out["task_specific_params"]["text-generation"]["do_sample"], true);
  EXPECT_EQ(out["n_embd"], 64);
}

TEST(ConfigTest, AliasesInConfigJsonSetTheRealField) {
  auto c = AutoConfig::from_json(Json{{"model_type", "gpt2"}, {"hidden_size", 128}, {"num_attention_heads", 4}});
  EXPECT_EQ(c->to_json()["n_embd"], 128);
  EXPECT_FALSE(c->to_json().contains("hidden_size"));
}

TEST(ConfigTest, OverridesAreTypedByTheExistingField) {
  auto c = AutoConfig::for_model("gpt2");
  c->update_from_string("n_embd=256,n_head=4,n_layer=4,resid_pdrop=0.25,scale_attn_weights=false,activation_function=relu");
  auto& g = dynamic_cast<gpt2::GPT2Config&>(*c);
  EXPECT_EQ(g.n_embd, 256);
  EXPECT_EQ(g.n_layer, 4);
  EXPECT_DOUBLE_EQ(g.resid_pdrop, 0.25);
  EXPECT_FALSE(g.scale_attn_weights);
  EXPECT_EQ(g.activation_function, "relu");
  c->update_from_string("n_inner=512,hidden_size=128,eos_token_id=7");
  EXPECT_EQ(g.inner_dim(), 512);
  EXPECT_EQ(g.n_embd, 128);
  EXPECT_EQ(g.eos_token_id, 7);
}

TEST(ConfigTest, OverrideOfUnknownKeyNamesItAndSuggests) {
  auto c = AutoConfig::for_model("gpt2");
  EXPECT_THAT([&] { c->update_from_string("n_embed=256"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("config_overrides"), HasSubstr("\"n_embed\""),
                                              HasSubstr("did you mean \"n_embd\""))));
}

TEST(ConfigTest, OverrideWithBadValueNamesKeyAndValue) {
  auto c = AutoConfig::for_model("llama");
  EXPECT_THAT([&] { c->update_from_string("num_hidden_layers=2.5"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("\"num_hidden_layers\""), HasSubstr("\"2.5\""))));
  EXPECT_THAT([&] { c->update_from_string("attention_bias=maybe"); },
              ThrowsMessage<InputError>(HasSubstr("\"attention_bias\" expects a boolean")));
  EXPECT_THAT([&] { c->update_from_string("hidden_size"); },
              ThrowsMessage<InputError>(HasSubstr("key=value")));
}

// Found by the model_config fuzz target (issue #10): bytes that are not UTF-8 in a string override were stored, and
// saving config.json then threw nlohmann's type_error 316 past every handler, after training.
TEST(ConfigTest, OverrideThatIsNotUtf8IsAnInputError) {
  gpt2::GPT2Config c;
  EXPECT_THAT([&] { c.update_from_string("n_embd=32,activation_function=r\xff\xff" "elu"); },
              ThrowsMessage<InputError>(HasSubstr("config_overrides: is not valid UTF-8")));
  EXPECT_EQ(c.activation_function, "gelu_new");
  EXPECT_EQ(c.n_embd, 768);  // nothing applied
}

TEST(ConfigTest, OverrideThatBreaksTheModelShapeIsRejected) {
  auto c = AutoConfig::for_model("gpt2");
  EXPECT_THAT([&] { c->update_from_string("n_embd=100,n_head=3"); },
              ThrowsMessage<InputError>(HasSubstr("\"n_embd\" (100) must be divisible by \"n_head\" (3)")));
}

TEST(ConfigTest, ConfigJsonErrorsNameFileAndKey) {
  EXPECT_THAT([] { AutoConfig::from_json(Json{{"n_embd", 64}}, "run/config.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("run/config.json"), HasSubstr("missing \"model_type\""))));
  EXPECT_THAT([] { AutoConfig::from_json(Json{{"model_type", "gpt3"}}, "run/config.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("run/config.json"), HasSubstr("did you mean \"gpt2\""))));
  EXPECT_THAT([] { AutoConfig::from_json(Json{{"model_type", "bert"}, {"hidden_size", "big"}}, "run/config.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("run/config.json"), HasSubstr("\"hidden_size\" must be an integer"))));
  EXPECT_THAT([] { AutoConfig::from_json(Json{{"model_type", "llama"}, {"rope_scaling", {{"type", "yarn"}, {"factor", 2}}}}); },
              ThrowsMessage<InputError>(HasSubstr("\"rope_scaling\" type \"yarn\"")));
}

}  // namespace
}  // namespace tcpp::models
