// The README.md model card, laid out as transformers' TrainingSummary.to_model_card for a run_clm run.
#include "tcpp/pipelines/model_card.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tcpp::pipelines {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ModelCardTest, FineTunedRunWithEvaluations) {
  ModelCardInputs in;
  in.model_name = "gpt2-brown";
  in.finetuned_from = "gpt2";
  in.task = "text-generation";
  in.training_args = {{"learning_rate", 5e-05}, {"per_device_train_batch_size", 8}, {"per_device_eval_batch_size", 8},
                      {"seed", 42}, {"gradient_accumulation_steps", 4}, {"adam_beta1", 0.9}, {"adam_beta2", 0.999},
                      {"adam_epsilon", 1e-08}, {"optim", "adamw_torch"}, {"lr_scheduler_type", "linear"},
                      {"warmup_ratio", 0.0}, {"warmup_steps", 0}, {"max_steps", -1}, {"num_train_epochs", 3.0},
                      {"bf16", true}};
  in.log_history = Json::array({
      {{"loss", 3.5}, {"epoch", 0.5}, {"step", 10}},
      {{"eval_loss", 3.123456}, {"eval_accuracy", 0.41234567}, {"eval_runtime", 1.5}, {"epoch", 1.0}, {"step", 20}},
      {{"eval_loss", 2.9}, {"eval_accuracy", 0.45}, {"epoch", 2.0}, {"step", 40}},
      {{"train_runtime", 12.5}, {"train_loss", 3.2}, {"epoch", 2.0}, {"step", 40}},
      {{"eval_loss", 2.9}, {"eval_accuracy", 0.45}, {"epoch", 2.0}, {"step", 40}},  // run_clm's final --do_eval
  });
  in.world_size = 2;
  const std::string card = model_card(in);
  EXPECT_EQ(card.rfind("---\nlibrary_name: transformers\nbase_model: gpt2\ntags:\n- generated_from_trainer\n", 0), 0u);
  EXPECT_THAT(card, HasSubstr("metrics:\n- accuracy\nmodel-index:\n- name: gpt2-brown\n  results: []\n---\n"));
  EXPECT_THAT(card, HasSubstr("This model is a fine-tuned version of [gpt2](https://huggingface.co/gpt2) on an unknown dataset."));
  EXPECT_THAT(card, HasSubstr("It achieves the following results on the evaluation set:\n- Loss: 2.9\n- Accuracy: 0.45\n"));
  EXPECT_THAT(card, HasSubstr("- distributed_type: multi-GPU\n- num_devices: 2\n- gradient_accumulation_steps: 4\n"
                              "- total_train_batch_size: 64\n- total_eval_batch_size: 16\n"));
  EXPECT_THAT(card, HasSubstr("- optimizer: Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08"));
  EXPECT_THAT(card, HasSubstr("- num_epochs: 3.0\n- mixed_precision_training: Native AMP\n"));
  EXPECT_THAT(card, HasSubstr("| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n"));
  EXPECT_THAT(card, HasSubstr("| 3.5 | 1.0 | 20 | 3.1235 | 0.4123 |\n| 3.5 | 2.0 | 40 | 2.9 | 0.45 |\n"));
  EXPECT_THAT(card, HasSubstr("| 2.9 | 0.45 |\n\n\n### Framework versions"));  // the final evaluation is no row
  EXPECT_THAT(card, Not(HasSubstr("Runtime")));
}

TEST(ModelCardTest, FromScratchWithoutEvaluation) {
  ModelCardInputs in;
  in.model_name = "out";
  in.task = "fill-mask";
  in.training_args = {{"learning_rate", 0.001}, {"max_steps", 300}, {"warmup_steps", 30}, {"seed", 1}};
  in.log_history = Json::array({{{"loss", 5.0}, {"step", 300}}});
  const std::string card = model_card(in);
  EXPECT_THAT(card, HasSubstr("This model was trained from scratch on an unknown dataset.\n"));
  EXPECT_THAT(card, Not(HasSubstr("base_model")));
  EXPECT_THAT(card, Not(HasSubstr("### Training results")));
  EXPECT_THAT(card, HasSubstr("- lr_scheduler_warmup_steps: 30\n- training_steps: 300\n"));
}

// run_mlm with --dataset_name/--dataset_config_name: the metadata and model index transformers' TrainingSummary
// writes (checked against transformers 5.12's create_metadata dumped by PyYAML).
TEST(ModelCardTest, HubDatasetWithAMetricTagGetsAModelIndexResult) {
  ModelCardInputs in;
  in.model_name = "out";
  in.task = "fill-mask";
  in.dataset_tags = "wikitext";
  in.dataset_args = "wikitext-2-raw-v1";
  in.dataset = "wikitext wikitext-2-raw-v1";
  in.dataset_metadata = {{"config", "wikitext-2-raw-v1"}, {"split", "validation"}};
  in.training_args = {{"learning_rate", 0.001}, {"max_steps", 10}};
  in.log_history = Json::array({{{"loss", 5.0}, {"step", 10}},
                                {{"train_runtime", 1.0}, {"step", 10}},
                                {{"eval_loss", 2.9}, {"eval_accuracy", 5e-05}, {"eval_runtime", 0.5}, {"step", 10}}});
  const std::string card = model_card(in);
  EXPECT_THAT(
      card,
      HasSubstr("tags:\n- generated_from_trainer\ndatasets:\n- wikitext\nmetrics:\n- accuracy\n"
                "model-index:\n- name: out\n  results:\n  - task:\n      name: Masked Language Modeling\n"
                "      type: fill-mask\n    dataset:\n      name: wikitext wikitext-2-raw-v1\n"
                "      type: wikitext\n      config: wikitext-2-raw-v1\n      split: validation\n"
                "      args: wikitext-2-raw-v1\n    metrics:\n    - name: Accuracy\n      type: accuracy\n"
                "      value: 5.0e-05\n---\n"));
  EXPECT_THAT(card, HasSubstr("This model was trained from scratch on the wikitext wikitext-2-raw-v1 dataset.\n"));
  // run_clm: no metric tag (eval_loss is none), so the result is dropped as incomplete; a numeric name is quoted.
  in.task = "text-generation";
  in.model_name = "123";
  in.dataset_tags = in.dataset = "org/data";
  in.dataset_args.reset();
  in.dataset_metadata = Json();
  in.log_history[2].erase("eval_accuracy");
  EXPECT_THAT(model_card(in), HasSubstr("datasets:\n- org/data\nmodel-index:\n- name: '123'\n  results: []\n---\n"));
}

// parse_log_history takes the evaluation results from an entry after the first once training ran (idx > 0).
TEST(ModelCardTest, AnEvaluationLoggedFirstIsNoResultOfATrainedModel) {
  ModelCardInputs in;
  in.model_name = "out";
  in.task = "fill-mask";
  in.dataset_tags = in.dataset = "wikitext";
  in.log_history = Json::array({{{"eval_loss", 2.9}, {"eval_accuracy", 0.5}, {"step", 0}},
                                {{"train_runtime", 1.0}, {"step", 10}}});
  const std::string card = model_card(in);
  EXPECT_THAT(card, HasSubstr("model-index:\n- name: out\n  results: []\n"));
  EXPECT_THAT(card, Not(HasSubstr("It achieves")));
}

}  // namespace
}  // namespace tcpp::pipelines
