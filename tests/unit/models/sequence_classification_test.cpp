// Tests for GPT2ForSequenceClassification and LlamaForSequenceClassification (as transformers'): HF names (score.weight),
// last-non-pad-token pooling checked against the unpadded sequence, no-pad-token batches, the three problem types'
// losses, num_labels from id2label, loading an LM checkpoint's body, save/load, and families without a classifier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <torch/torch.h>

#include "test_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/models/auto.h"

namespace tcpp::models {
namespace {

namespace F = torch::nn::functional;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

// model_type -> config.json (pad_token_id 0; 3 labels).
Json tiny_config(const std::string& type) {
  Json c = type == "gpt2" ? Json{{"model_type", "gpt2"}, {"vocab_size", 50}, {"n_positions", 16}, {"n_embd", 16},
                                 {"n_layer", 2}, {"n_head", 2}, {"resid_pdrop", 0.0}, {"embd_pdrop", 0.0},
                                 {"attn_pdrop", 0.0}}
                          : Json{{"model_type", "llama"}, {"vocab_size", 50}, {"hidden_size", 16},
                                 {"intermediate_size", 24}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2}, {"max_position_embeddings", 32}};
  c["pad_token_id"] = 0;
  c["id2label"] = {{"0", "neg"}, {"1", "neu"}, {"2", "pos"}};
  c["label2id"] = {{"neg", 0}, {"neu", 1}, {"pos", 2}};
  return c;
}

PreTrainedModel classifier(const Json& config) {
  torch::manual_seed(0);
  auto model = AutoModelForSequenceClassification::from_config(*AutoConfig::from_json(config));
  model->eval();
  return model;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

TEST(SequenceClassificationTest, PoolsTheLastNonPadTokenAsTheUnpaddedSequenceWould) {
  for (const char* type : {"gpt2", "llama"}) {
    SCOPED_TRACE(type);
    auto model = classifier(tiny_config(type));
    EXPECT_EQ(model->architecture(), std::string(type == std::string("gpt2") ? "GPT2ForSequenceClassification"
                                                                                : "LlamaForSequenceClassification"));
    bool has_score = false;
    for (auto& p : model->named_parameters())
      if (p.key() == "score.weight") has_score = p.value().sizes() == torch::IntArrayRef({3, 16});
    EXPECT_TRUE(has_score) << "score.weight (3, 16)";
    ModelInputs padded;
    padded.input_ids = torch::tensor({{5, 9, 13, 2, 44}, {3, 17, 8, 0, 0}}, torch::kLong);
    padded.attention_mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kLong);
    auto logits = model->forward(padded).logits;
    ASSERT_EQ(logits.sizes(), torch::IntArrayRef({2, 3}));
    ModelInputs alone;
    alone.input_ids = torch::tensor({{3, 17, 8}}, torch::kLong);
    EXPECT_LT(max_abs_diff(logits[1], model->forward(alone).logits[0]), 1e-5);
    alone.input_ids = torch::tensor({{5, 9, 13, 2, 44}}, torch::kLong);
    EXPECT_LT(max_abs_diff(logits[0], model->forward(alone).logits[0]), 1e-5);
  }
}

TEST(SequenceClassificationTest, WithoutAPadTokenOnlyBatchesOfOneWork) {
  Json c = tiny_config("gpt2");
  c.erase("pad_token_id");
  auto model = classifier(c);
  ModelInputs one;
  one.input_ids = torch::tensor({{5, 9, 13}}, torch::kLong);
  EXPECT_EQ(model->forward(one).logits.sizes(), torch::IntArrayRef({1, 3}));
  ModelInputs two;
  two.input_ids = torch::tensor({{5, 9, 13}, {1, 2, 3}}, torch::kLong);
  EXPECT_THAT([&] { model->forward(two); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("pad_token_id"), HasSubstr("batch sizes > 1"))));
}

TEST(SequenceClassificationTest, LossFollowsTheProblemType) {
  ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2}, {3, 17, 8, 0}}, torch::kLong);
  {  // integer labels, 3 labels: single-label cross-entropy
    auto model = classifier(tiny_config("llama"));
    in.labels = torch::tensor({2, 0}, torch::kLong);
    auto out = model->forward(in);
    EXPECT_NEAR(out.loss.item<double>(), F::cross_entropy(out.logits, in.labels).item<double>(), 1e-6);
    in.num_items_in_batch = 4;  // sum / count, as the other losses under gradient accumulation
    EXPECT_NEAR(model->forward(in).loss.item<double>(), out.loss.item<double>() * 2 / 4, 1e-6);
    in.num_items_in_batch.reset();
  }
  {  // float labels, 3 labels: multi-label BCE with logits
    auto model = classifier(tiny_config("llama"));
    in.labels = torch::tensor({{1.0, 0.0, 1.0}, {0.0, 0.0, 1.0}});
    auto out = model->forward(in);
    EXPECT_NEAR(out.loss.item<double>(), F::binary_cross_entropy_with_logits(out.logits, in.labels).item<double>(),
                1e-6);
  }
  {  // 1 label: regression (MSE)
    Json c = tiny_config("gpt2");
    c["id2label"] = {{"0", "score"}};
    auto model = classifier(c);
    in.labels = torch::tensor({0.5, -1.5});
    auto out = model->forward(in);
    ASSERT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 1}));
    EXPECT_NEAR(out.loss.item<double>(), F::mse_loss(out.logits.squeeze(), in.labels).item<double>(), 1e-6);
  }
  Json bad = tiny_config("gpt2");
  bad["problem_type"] = "ranking";
  EXPECT_THAT([&] { classifier(bad); }, ThrowsMessage<InputError>(HasSubstr("\"problem_type\"")));
}

TEST(SequenceClassificationTest, LoadsALanguageModelsBodyAndRoundTripsItsOwnSave) {
  for (const char* type : {"gpt2", "llama"}) {
    SCOPED_TRACE(type);
    TempDir tmp;
    torch::manual_seed(1);
    auto lm = AutoModelForCausalLM::from_config(*AutoConfig::from_json(tiny_config(type)));
    save_pretrained(*lm, tmp.file("lm"));
    LoadReport report;
    auto model = AutoModelForSequenceClassification::from_pretrained(tmp.file("lm"), {}, &report);
    EXPECT_EQ(report.missing_keys, std::vector<std::string>{"score.weight"});
    model->eval();
    save_pretrained(*model, tmp.file("cls"));
    EXPECT_EQ(read_json_file(tmp.file("cls/config.json"))["architectures"][0], model->architecture());
    EXPECT_EQ(read_json_file(tmp.file("cls/config.json"))["id2label"]["2"], "pos");
    LoadOptions strict;
    strict.strict = true;
    auto loaded = AutoModelForSequenceClassification::from_pretrained(tmp.file("cls"), strict);
    loaded->eval();
    ModelInputs in;
    in.input_ids = torch::tensor({{5, 9, 13, 2}, {3, 17, 0, 0}}, torch::kLong);
    EXPECT_TRUE(torch::equal(model->forward(in).logits, loaded->forward(in).logits));
  }
}

TEST(SequenceClassificationTest, FamiliesWithoutAClassifierSaySo) {
  Json bert = {{"model_type", "bert"}, {"vocab_size", 50}, {"hidden_size", 16}, {"num_hidden_layers", 1},
               {"num_attention_heads", 2}, {"intermediate_size", 24}};
  EXPECT_THAT([&] { classifier(bert); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bert"), HasSubstr("sequence classification"))));
}

}  // namespace
}  // namespace tcpp::models
