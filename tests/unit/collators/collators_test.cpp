// Tests for default_data_collator, DataCollatorWithPadding and DataCollatorForLanguageModeling.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/collators/data_collator.h"
#include "tcpp/collators/language_modeling.h"
#include "tcpp/core/error.h"

namespace tcpp::collators {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Features ids(std::vector<int64_t> input_ids) {
  Features f;
  f.columns["input_ids"] = std::move(input_ids);
  return f;
}

torch::Tensor t2(std::vector<std::vector<int64_t>> rows) {
  std::vector<int64_t> flat;
  for (auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kInt64).view({static_cast<int64_t>(rows.size()), -1});
}

TEST(DefaultDataCollatorTest, StacksColumnsAndKeepsLabels) {
  Features a = ids({1, 2, 3});
  a.columns["labels"] = {1, 2, 3};
  a.columns["attention_mask"] = {1, 1, 1};
  a.columns["text_length"] = {3};  // not a model input: ignored
  Features b = ids({4, 5, 6});
  b.columns["labels"] = {4, 5, 6};
  b.columns["attention_mask"] = {1, 1, 0};
  auto batch = default_data_collator({a, b});
  EXPECT_TRUE(torch::equal(batch.input_ids, t2({{1, 2, 3}, {4, 5, 6}})));
  EXPECT_TRUE(torch::equal(batch.labels, t2({{1, 2, 3}, {4, 5, 6}})));
  EXPECT_TRUE(torch::equal(batch.attention_mask, t2({{1, 1, 1}, {1, 1, 0}})));
  EXPECT_EQ(batch.input_ids.scalar_type(), torch::kInt64);
  EXPECT_FALSE(batch.token_type_ids.defined());
}

TEST(DefaultDataCollatorTest, ScalarLabelBecomesLabels) {
  Features a = ids({1, 2});
  a.scalars["label"] = 3;
  Features b = ids({4, 5});
  b.scalars["label"] = 0;
  auto batch = default_data_collator({a, b});
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor({3, 0}, torch::kInt64)));
}

TEST(DefaultDataCollatorTest, RaggedExampleNamesIndexAndColumn) {
  EXPECT_THAT([] { default_data_collator({ids({1, 2}), ids({1, 2, 3})}); },
              ThrowsMessage<InputError>(HasSubstr("features[1][\"input_ids\"]: expected 2 values")));
  EXPECT_THAT([] { default_data_collator({}); }, ThrowsMessage<InputError>(HasSubstr("empty batch")));
}

TEST(DataCollatorWithPaddingTest, PadsRightWithPadIdAndMakesAttentionMask) {
  PaddingOptions o;
  o.pad_token_id = 9;
  Features a = ids({1, 2, 3});
  a.columns["labels"] = {1, 2, 3};
  Features b = ids({4});
  b.columns["labels"] = {4};
  auto batch = DataCollatorWithPadding(o)({a, b});
  EXPECT_TRUE(torch::equal(batch.input_ids, t2({{1, 2, 3}, {4, 9, 9}})));
  EXPECT_TRUE(torch::equal(batch.attention_mask, t2({{1, 1, 1}, {1, 0, 0}})));
  EXPECT_TRUE(torch::equal(batch.labels, t2({{1, 2, 3}, {4, -100, -100}})));
}

TEST(DataCollatorWithPaddingTest, PadsLeftAndToMultipleOf) {
  PaddingOptions o;
  o.pad_token_id = 0;
  o.padding_side = PaddingSide::kLeft;
  o.pad_to_multiple_of = 4;
  Features a = ids({1, 2, 3, 4, 5});
  a.columns["token_type_ids"] = {0, 0, 1, 1, 1};
  Features b = ids({6, 7});
  b.columns["token_type_ids"] = {1, 1};
  auto batch = DataCollatorWithPadding(o)({a, b});
  EXPECT_TRUE(torch::equal(batch.input_ids, t2({{0, 0, 0, 1, 2, 3, 4, 5}, {0, 0, 0, 0, 0, 0, 6, 7}})));
  EXPECT_TRUE(torch::equal(batch.attention_mask, t2({{0, 0, 0, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0, 1, 1}})));
  EXPECT_TRUE(torch::equal(batch.token_type_ids, t2({{0, 0, 0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 0, 0, 1, 1}})));
}

TEST(DataCollatorWithPaddingTest, MaxLengthPadsButNeverTruncates) {
  PaddingOptions o;
  o.max_length = 4;
  EXPECT_EQ(DataCollatorWithPadding(o)({ids({1}), ids({2, 3})}).input_ids.size(1), 4);
  EXPECT_EQ(DataCollatorWithPadding(o)({ids({1, 2, 3, 4, 5, 6})}).input_ids.size(1), 6);
}

TEST(DataCollatorWithPaddingTest, MismatchedColumnLengthNamesExample) {
  Features a = ids({1, 2});
  a.columns["attention_mask"] = {1};
  EXPECT_THAT([&] { DataCollatorWithPadding(PaddingOptions{})({ids({1}), a}); },
              ThrowsMessage<InputError>(HasSubstr("features[1][\"attention_mask\"]: expected 2 values")));
  PaddingOptions bad;
  bad.pad_to_multiple_of = 0;
  EXPECT_THAT([&] { DataCollatorWithPadding{bad}; }, ThrowsMessage<InputError>(HasSubstr("pad_to_multiple_of")));
}

LanguageModelingOptions mlm_options() {
  LanguageModelingOptions o;
  o.pad_token_id = 0;
  o.mask_token_id = 103;
  o.vocab_size = 1000;
  o.is_special_token = [](int64_t id) { return id == 101 || id == 102 || id == 0; };
  o.seed = 42;
  return o;
}

// Batch of 64 rows [CLS] t... [SEP] pad..., ids 200..999, lengths varying.
std::vector<Features> mlm_batch() {
  std::vector<Features> batch;
  for (int64_t b = 0; b < 64; ++b) {
    std::vector<int64_t> row = {101};
    for (int64_t t = 0; t < 40 + b % 17; ++t) row.push_back(200 + (b * 131 + t * 17) % 800);
    row.push_back(102);
    batch.push_back(ids(row));
  }
  return batch;
}

TEST(DataCollatorForLanguageModelingTest, MaskingStatisticsMatchProbabilities) {
  DataCollatorForLanguageModeling collator(mlm_options());
  const auto examples = mlm_batch();
  const auto original = DataCollatorWithPadding(PaddingOptions{})(examples).input_ids;
  const auto special = (original == 101) | (original == 102) | (original == 0);
  int64_t candidates = 0, masked = 0, as_mask = 0, as_random = 0, kept = 0;
  for (int draw = 0; draw < 30; ++draw) {
    auto batch = collator(examples);
    auto is_masked = batch.labels.ne(-100);
    // Labels hold the original ids exactly where masked; special tokens and padding are never masked.
    ASSERT_TRUE(torch::equal(batch.labels.masked_select(is_masked), original.masked_select(is_masked)));
    ASSERT_FALSE((is_masked & special).any().item<bool>());
    ASSERT_TRUE(torch::equal(batch.input_ids.masked_select(is_masked.logical_not()),
                             original.masked_select(is_masked.logical_not())));
    candidates += special.logical_not().sum().item<int64_t>();
    masked += is_masked.sum().item<int64_t>();
    as_mask += (is_masked & batch.input_ids.eq(103)).sum().item<int64_t>();
    kept += (is_masked & batch.input_ids.eq(original)).sum().item<int64_t>();
    as_random += (is_masked & batch.input_ids.ne(103) & batch.input_ids.ne(original)).sum().item<int64_t>();
  }
  // ~86k candidates: 3 sigma of the masked share is ~0.0037; of the 80/10/10 split ~0.01.
  EXPECT_NEAR(static_cast<double>(masked) / candidates, 0.15, 0.005);
  EXPECT_NEAR(static_cast<double>(as_mask) / masked, 0.8, 0.012);
  EXPECT_NEAR(static_cast<double>(as_random) / masked, 0.1, 0.01);  // a random id equal to the original counts as kept
  EXPECT_NEAR(static_cast<double>(kept) / masked, 0.1, 0.01);
}

TEST(DataCollatorForLanguageModelingTest, SeededMasksMatchHfTorchMaskTokens) {
  // transformers' torch_mask_tokens run with torch.Generator().manual_seed(42), mlm_probability 0.5, vocab 1000,
  // on arange(200, 240).view(2, 20) with the first and last column special (torch 1.13).
  auto o = mlm_options();
  o.mlm_probability = 0.5;
  DataCollatorForLanguageModeling collator(o);
  auto input_ids = torch::arange(200, 240, torch::kInt64).view({2, 20});
  auto special = torch::zeros({2, 20}, torch::kBool);
  special.select(1, 0).fill_(true);
  special.select(1, 19).fill_(true);
  auto [inputs, labels] = collator.mask_tokens(input_ids, special);
  const std::vector<int64_t> expected_inputs = {200, 201, 103, 203, 103, 205, 103, 207, 208, 103, 210, 211, 212, 213, 214, 103, 216, 217, 110, 219, 220, 103, 103, 223, 103, 103, 170, 103, 228, 103, 230, 103, 232, 233, 103, 235, 236, 237, 238, 239};
  const std::vector<int64_t> expected_labels = {-100, -100, 202, -100, 204, -100, 206, -100, -100, 209, -100, -100, -100, -100, -100, 215, -100, -100, 218, -100, -100, 221, 222, -100, 224, 225, 226, 227, -100, 229, -100, 231, -100, -100, 234, -100, -100, -100, -100, -100};
  EXPECT_TRUE(torch::equal(inputs.flatten(), torch::tensor(expected_inputs, torch::kInt64)));
  EXPECT_TRUE(torch::equal(labels.flatten(), torch::tensor(expected_labels, torch::kInt64)));
}

TEST(DataCollatorForLanguageModelingTest, WithoutASeedMasksDrawFromTheGlobalGenerator) {
  // HF's default (seed=None): torch.bernoulli(..., generator=None) draws from the global generator, so after
  // torch.manual_seed(42) the masks are the seeded generator's, and the global generator has moved on.
  auto seeded = mlm_options();
  auto unseeded = mlm_options();
  unseeded.seed.reset();
  DataCollatorForLanguageModeling a(seeded), b(unseeded);
  const auto examples = mlm_batch();
  torch::manual_seed(42);
  const auto expected = a(examples);
  const auto from_global = b(examples);
  EXPECT_TRUE(torch::equal(from_global.input_ids, expected.input_ids));
  EXPECT_TRUE(torch::equal(from_global.labels, expected.labels));
  EXPECT_FALSE(torch::equal(b(examples).input_ids, expected.input_ids));  // drawn on from where the first left off
  torch::manual_seed(42);
  torch::rand({3});  // another draw first (as dropout's): different masks
  EXPECT_FALSE(torch::equal(b(examples).input_ids, expected.input_ids));
  EXPECT_EQ(b.generator().unsafeGetGeneratorImpl(), at::detail::getDefaultCPUGenerator().unsafeGetGeneratorImpl());
}

TEST(DataCollatorForLanguageModelingTest, CustomReplaceProbabilities) {
  auto o = mlm_options();
  o.mlm_probability = 0.5;
  o.mask_replace_prob = 0.0;
  o.random_replace_prob = 0.0;
  DataCollatorForLanguageModeling collator(o);
  auto batch = collator(mlm_batch());
  auto is_masked = batch.labels.ne(-100);
  EXPECT_GT(is_masked.sum().item<int64_t>(), 0);
  EXPECT_FALSE((is_masked & batch.input_ids.eq(103)).any().item<bool>());  // all masked positions kept as they were
}

TEST(DataCollatorForLanguageModelingTest, SpecialTokensMaskColumnWins) {
  auto o = mlm_options();
  o.mlm_probability = 1.0;
  o.is_special_token = nullptr;
  DataCollatorForLanguageModeling collator(o);
  Features a = ids({5, 6, 7});
  a.columns["special_tokens_mask"] = {1, 0, 1};
  Features b = ids({8});
  b.columns["special_tokens_mask"] = {0};
  auto batch = collator({a, b});
  EXPECT_TRUE(torch::equal(batch.labels, t2({{-100, 6, -100}, {8, -100, -100}})));
}

TEST(DataCollatorForLanguageModelingTest, SameSeedSameMasksAndStateRestoreReplays) {
  DataCollatorForLanguageModeling a(mlm_options()), b(mlm_options());
  const auto examples = mlm_batch();
  EXPECT_TRUE(torch::equal(a(examples).input_ids, b(examples).input_ids));
  auto state = a.generator().get_state();
  auto next = a(examples);
  a.generator().set_state(state);
  EXPECT_TRUE(torch::equal(a(examples).labels, next.labels));
}

TEST(DataCollatorForLanguageModelingTest, ConvertedCollatorSharesTheGenerator) {
  DataCollatorForLanguageModeling a(mlm_options());
  DataCollator c = a;
  ASSERT_TRUE(c.generator.has_value());
  auto state = c.generator->get_state();
  auto first = c.collate(mlm_batch());
  a.generator().set_state(state);
  EXPECT_TRUE(torch::equal(c.collate(mlm_batch()).labels, first.labels));
}

TEST(RemoveUnusedColumnsTest, OnlyWhatTheModelTakesReachesTheCollator) {
  std::vector<std::string> seen;
  DataCollator inner([&](const std::vector<Features>& f) {
    seen.clear();
    for (const auto& [name, v] : f.front().columns) seen.push_back(name);
    for (const auto& [name, v] : f.front().scalars) seen.push_back("scalar " + name);
    return default_data_collator(f);
  });
  Features a = ids({1, 2});
  a.columns["attention_mask"] = {1, 1};
  a.columns["special_tokens_mask"] = {1, 0};
  a.columns["word_ids"] = {0, 1};
  a.columns["my_labels"] = {1, 2};
  a.scalars["label"] = 1;
  a.scalars["length"] = 2;
  auto dropping = remove_unused_columns(inner, {"my_labels"});
  EXPECT_FALSE(dropping.generator.has_value());
  dropping.collate({a});
  EXPECT_THAT(seen, ::testing::ElementsAre("attention_mask", "input_ids", "my_labels", "scalar label"));
  inner.collate({a});
  EXPECT_EQ(seen.size(), 7u);
}

// HF's Trainer drops special_tokens_mask (not a forward argument) before DataCollatorForLanguageModeling sees it,
// which then spares every special id, [UNK] in the text too; a column from the tokenizer marks only [CLS]/[SEP].
TEST(RemoveUnusedColumnsTest, AnUnknownTokenInTheTextIsNeverMaskedOnceTheColumnIsGone) {
  auto o = mlm_options();
  o.mlm_probability = 0.9;
  o.is_special_token = [](int64_t id) { return id == 101 || id == 102 || id == 0 || id == 100; };  // 100: [UNK]
  Features f = ids({101, 200, 100, 300, 102});
  f.columns["special_tokens_mask"] = {1, 0, 0, 0, 1};
  DataCollator with_column = DataCollatorForLanguageModeling(o);
  DataCollator dropped = remove_unused_columns(DataCollatorForLanguageModeling(o));
  ASSERT_TRUE(dropped.generator.has_value());
  int64_t unk_masked_with_column = 0, unk_masked_dropped = 0, others_masked_dropped = 0;
  for (int i = 0; i < 50; ++i) {
    unk_masked_with_column += with_column.collate({f}).labels[0][2].item<int64_t>() != -100;
    auto labels = dropped.collate({f}).labels[0];
    unk_masked_dropped += labels[2].item<int64_t>() != -100;
    others_masked_dropped += labels.ne(-100).sum().item<int64_t>();
  }
  EXPECT_GT(unk_masked_with_column, 0);
  EXPECT_EQ(unk_masked_dropped, 0);
  EXPECT_GT(others_masked_dropped, 0);
}

TEST(DataCollatorForLanguageModelingTest, CausalLabelsMaskPaddingNotEosWhenPadIsEos) {
  LanguageModelingOptions o;
  o.mlm = false;
  o.pad_token_id = 50256;  // GPT-2: pad = eos
  DataCollatorForLanguageModeling collator(o);
  auto batch = collator({ids({1, 2, 50256}), ids({3, 50256})});
  EXPECT_TRUE(torch::equal(batch.input_ids, t2({{1, 2, 50256}, {3, 50256, 50256}})));
  EXPECT_TRUE(torch::equal(batch.labels, t2({{1, 2, 50256}, {3, 50256, -100}})));
}

TEST(DataCollatorForLanguageModelingTest, MlmWithoutMaskTokenIsRejected) {
  LanguageModelingOptions o;
  EXPECT_THAT([&] { DataCollatorForLanguageModeling{o}; }, ThrowsMessage<InputError>(HasSubstr("mask_token_id")));
  o = mlm_options();
  o.mask_replace_prob = 0.95;
  EXPECT_THAT([&] { DataCollatorForLanguageModeling{o}; },
              ThrowsMessage<InputError>(HasSubstr("random_replace_prob: mask_replace_prob + random_replace_prob")));
}

TEST(DataCollatorForLanguageModelingTest, PaddingWithoutPadTokenIsRejected) {
  LanguageModelingOptions o;
  o.mlm = false;
  DataCollatorForLanguageModeling collator(o);
  EXPECT_NO_THROW(collator({ids({1, 2}), ids({3, 4})}));
  EXPECT_THAT([&] { collator({ids({1, 2}), ids({3})}); }, ThrowsMessage<InputError>(HasSubstr("pad_token_id")));
}

}  // namespace
}  // namespace tcpp::collators
