// End-to-end: train a tokenizer, run_clm / run_mlm from scratch, result files, resume equals uninterrupted run,
// and the errors a user meets first.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "e2e_util.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using e2e::bin;
using e2e::run;

// A small corpus of English-like sentences (deterministic), written by the test.
class RunClmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    dir_ = e2e::make_corpus_dir("tcpp_e2e_", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string clm_args(const std::string& out) { return e2e::tiny_clm_args(dir_, out); }

  static std::string dir_;
};
std::string RunClmTest::dir_;

TEST_F(RunClmTest, TrainsFromScratchAndWritesTheFilesRunClmPyWrites) {
  std::string out = dir_ + "/clm";
  auto r = run(bin("run_clm") + clm_args(out) + " --do_train --do_eval --max_steps 12 --save_steps 6");
  ASSERT_EQ(r.status, 0) << r.output;
  Json train = read_json_file(out + "/train_results.json");
  for (const char* key : {"epoch", "total_flos", "train_loss", "train_runtime", "train_samples",
                          "train_samples_per_second", "train_steps_per_second"})
    EXPECT_TRUE(train.contains(key)) << key;
  Json eval = read_json_file(out + "/eval_results.json");
  for (const char* key : {"epoch", "eval_loss", "eval_accuracy", "eval_runtime", "eval_samples", "perplexity"})
    EXPECT_TRUE(eval.contains(key)) << key;
  EXPECT_NEAR(eval["perplexity"].get<double>(), std::exp(eval["eval_loss"].get<double>()), 1e-6);
  Json all = read_json_file(out + "/all_results.json");
  EXPECT_TRUE(all.contains("train_loss") && all.contains("eval_loss"));
  Json state = read_json_file(out + "/trainer_state.json");
  EXPECT_EQ(state["global_step"], 12);
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(out + "/checkpoint-6/trainer_state.json"));
  // The trained folder generates from a text prompt (tokenizer files saved next to the model).
  auto g = run("(" + bin("tcpp") + " model generate --model " + out + " --prompt 'the jury said' --max_new_tokens 5"
               " 2>/dev/null)");
  ASSERT_EQ(g.status, 0) << g.output;
  EXPECT_EQ(g.output.rfind("the jury said", 0), 0u) << g.output;
  // The loss falls on this (very regular) corpus.
  const auto& logs = state["log_history"];
  ASSERT_GE(logs.size(), 2u);
  EXPECT_LT(logs[logs.size() - 2]["loss"].get<double>(), logs[0]["loss"].get<double>());
}

TEST_F(RunClmTest, ResumedRunEndsWithTheSameWeightsAsTheUninterruptedRun) {
  std::string full = dir_ + "/full", part = dir_ + "/part";
  auto a = run(bin("run_clm") + clm_args(full) + " --do_train --max_steps 10 --save_steps 5");
  ASSERT_EQ(a.status, 0) << a.output;
  fs::create_directories(part);
  fs::copy(full + "/checkpoint-5", part + "/checkpoint-5", fs::copy_options::recursive);
  // Rerunning into a folder that holds a checkpoint resumes from it (as older run_clm.py).
  auto b = run(bin("run_clm") + clm_args(part) + " --do_train --max_steps 10 --save_steps 5");
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_THAT(b.output, HasSubstr("resuming training at"));
  EXPECT_EQ(read_file(full + "/model.safetensors"), read_file(part + "/model.safetensors"));
}

TEST_F(RunClmTest, NonEmptyOutputDirWithoutCheckpointIsRefused) {
  std::string out = dir_ + "/busy";
  fs::create_directories(out);
  std::ofstream(out + "/notes.txt") << "keep me";
  auto r = run(bin("run_clm") + clm_args(out) + " --do_train --max_steps 2");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("--overwrite_output_dir"));
  EXPECT_TRUE(fs::exists(out + "/notes.txt"));
}

TEST_F(RunClmTest, MissingTrainFileNamesThePath) {
  auto r = run(bin("run_clm") + " --model_type gpt2 --tokenizer_name " + dir_ + "/tok --train_file " + dir_ +
               "/nope.txt --do_train --output_dir " + dir_ + "/x");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("nope.txt"));
}

TEST_F(RunClmTest, PreparedDatasetFolderTrainsWithoutTokenizing) {
  std::string prepared = dir_ + "/prepared", out = dir_ + "/from_prepared";
  auto p = run(bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " + dir_ +
               "/train.txt --validation_file " + dir_ + "/validation.txt --block_size 32 --output " + prepared);
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_TRUE(fs::exists(prepared + "/dataset_dict.json"));
  auto r = run(bin("run_clm") + " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
               "vocab_size=300 --tokenizer_name " + dir_ + "/tok --train_file " + prepared +
               " --do_train --do_eval --max_steps 3 --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already tokenized"));
  EXPECT_TRUE(fs::exists(out + "/eval_results.json"));
  // Its blocks are 32 tokens: the same --block_size trains, another is refused instead of being ignored.
  const std::string model = " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
                            "vocab_size=300 --tokenizer_name " + dir_ + "/tok --train_file " + prepared +
                            " --do_train --max_steps 1 --report_to none --output_dir ";
  EXPECT_EQ(run(bin("run_clm") + model + out + "_32 --block_size 32").status, 0);
  auto other = run(bin("run_clm") + model + out + "_16 --block_size 16");
  EXPECT_EQ(other.status, 1);
  EXPECT_THAT(other.output, HasSubstr("--block_size: the prepared train split of \"" + prepared +
                                      "\" holds blocks of 32 tokens, not 16"));
}

TEST_F(RunClmTest, JsonLinesTrainFileIsSplitByValidationPercentage) {
  std::string jsonl = dir_ + "/train.jsonl", out = dir_ + "/from_jsonl";
  {
    std::ifstream in(dir_ + "/train.txt");
    std::ofstream o(jsonl);
    std::string line;
    while (std::getline(in, line)) o << "{\"id\": 1, \"text\": \"" << line << "\"}\n";
  }
  auto r = run(bin("run_clm") + " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
               "vocab_size=300 --tokenizer_name " + dir_ + "/tok --train_file " + jsonl +
               " --validation_split_percentage 10 --block_size 32 --do_train --do_eval --max_steps 2 --report_to none"
               " --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  Json eval = read_json_file(out + "/eval_results.json");
  Json train = read_json_file(out + "/train_results.json");
  // 10% of the rows (from the start of the file) became the validation split; the rest is the training split.
  EXPECT_GT(eval["eval_samples"].get<int64_t>(), 0);
  EXPECT_GT(train["train_samples"].get<int64_t>(), 5 * eval["eval_samples"].get<int64_t>());
}

TEST_F(RunClmTest, DatasetConvertThenShowPrintsTheRowsAsJsonLines) {
  std::string saved = dir_ + "/converted";
  auto c = run(bin("tcpp") + " dataset convert --builder text --data_files " + dir_ + "/validation.txt --output " +
               saved + " --cache_dir " + dir_ + "/cache");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_TRUE(fs::exists(saved + "/state.json") || fs::exists(saved + "/dataset_dict.json"));
  // Only stdout: the schema goes to stderr with --format jsonl.
  auto s = run("(" + bin("tcpp") + " dataset show " + saved + " --rows 2 --format jsonl 2>/dev/null)");
  ASSERT_EQ(s.status, 0) << s.output;
  std::ifstream in(dir_ + "/validation.txt");
  std::string first;
  std::getline(in, first);
  Json row = parse_json(s.output.substr(0, s.output.find('\n')), "tcpp dataset show");
  EXPECT_EQ(row["text"], first);
  auto bad = run(bin("tcpp") + " dataset show " + dir_ + "/no_such_dataset");
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("no_such_dataset"));
}

TEST_F(RunClmTest, FromScratchModelGrowsItsVocabToTheTokenizer) {
  std::string out = dir_ + "/grown";
  auto r = run(bin("run_clm") + " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
               "vocab_size=100 --tokenizer_name " + dir_ + "/tok --train_file " + dir_ + "/train.txt"
               " --block_size 32 --do_train --max_steps 1 --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_json_file(out + "/config.json")["vocab_size"], 300);
}

// As run_clm.py: a pretrained model whose vocabulary is smaller than the tokenizer's is resized
// (resize_token_embeddings) and fine-tuned; the "pretrained" folder is made by `tcpp model init`.
TEST_F(RunClmTest, PretrainedModelWithFewerTokensThanTheTokenizerIsResizedAndTrains) {
  std::string pretrained = dir_ + "/pretrained_200", out = dir_ + "/resized";
  auto init = run(bin("tcpp") + " model init --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,"
                  "n_positions=64,vocab_size=200,tie_word_embeddings=false --output " + pretrained);
  ASSERT_EQ(init.status, 0) << init.output;
  auto r = run(bin("run_clm") + " --model_name_or_path " + pretrained + " --tokenizer_name " + dir_ + "/tok"
               " --train_file " + dir_ + "/train.txt --block_size 32 --do_train --max_steps 3 --report_to none"
               " --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("from 200 to the tokenizer's 300 tokens"));
  EXPECT_EQ(read_json_file(out + "/config.json")["vocab_size"], 300);
  EXPECT_TRUE(std::isfinite(read_json_file(out + "/train_results.json")["train_loss"].get<double>()));
  auto info = run(bin("tcpp") + " model info " + out);
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_THAT(info.output, HasSubstr("lm_head.weight"));
}

// A hub id resolves in the local Hugging Face cache for the model, its config and its tokenizer, at
// --model_revision; --torch_dtype auto trains in the checkpoint's own dtype.
TEST_F(RunClmTest, HubIdInTheLocalCacheLoadsModelAndTokenizerAtTheRevision) {
  const std::string fp32 = dir_ + "/hub_fp32", bf16 = dir_ + "/hub_bf16", cache = dir_ + "/hub_cache";
  auto init = run(bin("tcpp") + " model init --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,"
                  "n_positions=64,vocab_size=300 --output " + fp32);
  ASSERT_EQ(init.status, 0) << init.output;
  auto cast = run(bin("run_clm") + " --model_name_or_path " + fp32 + " --tokenizer_name " + dir_ + "/tok"
                  " --torch_dtype bfloat16 --train_file " + dir_ + "/train.txt --block_size 32 --do_train --max_steps 1"
                  " --report_to none --output_dir " + bf16);
  ASSERT_EQ(cast.status, 0) << cast.output;
  ASSERT_EQ(read_json_file(bf16 + "/config.json")["torch_dtype"], "bfloat16");
  // models--org--tiny: main is the float32 model with the tokenizer files, tag v2 the bfloat16 one.
  const fs::path repo = fs::path(cache) / "models--org--tiny";
  for (const auto& [rev, commit, src] : {std::tuple{"main", "c1", fp32}, std::tuple{"v2", "c2", bf16}}) {
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "snapshots" / commit);
    write_file_atomic((repo / "refs" / rev).string(), std::string(commit) + "\n");
    for (const auto& e : fs::directory_iterator(src))
      if (e.is_regular_file()) fs::copy_file(e.path(), repo / "snapshots" / commit / e.path().filename());
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(fs::path(dir_) / "tok" / f, repo / "snapshots" / commit / f, fs::copy_options::overwrite_existing);
  }
  auto train = [&](const std::string& out, const std::string& extra) {
    return run("HF_HUB_CACHE=" + cache + " " + bin("run_clm") + " --model_name_or_path org/tiny --torch_dtype auto"
               " --train_file " + dir_ + "/train.txt --block_size 32 --do_train --max_steps 1 --report_to none"
               " --output_dir " + out + extra);
  };
  auto main_rev = train(dir_ + "/hub_main", "");
  ASSERT_EQ(main_rev.status, 0) << main_rev.output;
  EXPECT_THAT(main_rev.output, HasSubstr("Dtype = float32"));
  EXPECT_TRUE(fs::exists(dir_ + "/hub_main/tokenizer.json"));
  auto v2 = train(dir_ + "/hub_v2", " --model_revision v2");
  ASSERT_EQ(v2.status, 0) << v2.output;
  EXPECT_THAT(v2.output, HasSubstr("Dtype = bfloat16"));
  EXPECT_EQ(read_json_file(dir_ + "/hub_v2/config.json")["torch_dtype"], "bfloat16");
  // --cache_dir names the cache instead of HF_HUB_CACHE (from_pretrained(cache_dir=...)).
  auto cache_dir = run("HF_HUB_CACHE=" + dir_ + "/no_cache " + bin("run_clm") + " --model_name_or_path org/tiny"
                       " --cache_dir " + cache + " --train_file " + dir_ + "/train.txt --block_size 32 --do_train"
                       " --max_steps 1 --report_to none --output_dir " + dir_ + "/hub_cache_dir");
  EXPECT_EQ(cache_dir.status, 0) << cache_dir.output;
  auto missing = train(dir_ + "/hub_v3", " --model_revision v3");
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.output, HasSubstr("org/tiny: revision \"v3\" is not in the Hugging Face cache"));
  EXPECT_THAT(missing.output, HasSubstr("there is no network download here"));
}

// --dataset_name as a Hub id reads what Python's load_dataset left in the datasets cache (datasets 3.x offline): the
// same rows as the save_to_disk folders holding the same Arrow files, so the same losses.
TEST_F(RunClmTest, HubDatasetIdInTheDatasetsCacheTrainsAsItsArrowFiles) {
  const std::string saved = dir_ + "/hubds_saved", cache = dir_ + "/hubds_cache";
  for (const char* split : {"train", "validation"}) {
    auto c = run(bin("tcpp") + " dataset convert --data_files " + dir_ + "/" + split + ".txt --output " + saved + "_" +
                 split);
    ASSERT_EQ(c.status, 0) << c.output;
  }
  // <cache>/Salesforce___wikitext/<config>/0.0.0/<sha>/wikitext-<split>.arrow + dataset_info.json, as datasets writes.
  auto prepare = [&](const std::string& config, const std::vector<std::string>& splits) {
    const fs::path d = fs::path(cache) / "Salesforce___wikitext" / config / "0.0.0" / "b08601e0";
    fs::create_directories(d);
    Json info = {{"builder_name", "parquet"}, {"dataset_name", "wikitext"}, {"config_name", config},
                 {"features", {{"text", {{"dtype", "string"}, {"_type", "Value"}}}}}, {"splits", Json::object()}};
    for (const auto& split : splits) {
      fs::copy_file(saved + "_" + split + "/data-00000-of-00001.arrow", d / ("wikitext-" + split + ".arrow"));
      const int64_t n = split == "train" ? 600 : 80;
      info["splits"][split] = {{"name", split}, {"num_examples", n}, {"shard_lengths", nullptr},
                               {"dataset_name", "wikitext"}};
    }
    write_file_atomic((d / "dataset_info.json").string(), info.dump());
  };
  prepare("wikitext-2-raw-v1", {"train", "validation"});
  const std::string model = " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
                            "vocab_size=300 --tokenizer_name " + dir_ + "/tok --block_size 32 --do_train --do_eval"
                            " --max_steps 3 --seed 5 --report_to none --output_dir ";
  auto from_saved = run(bin("run_clm") + model + dir_ + "/hubds_ref --train_file " + saved + "_train"
                        " --validation_file " + saved + "_validation");
  ASSERT_EQ(from_saved.status, 0) << from_saved.output;
  auto from_cache = run("HF_DATASETS_CACHE=" + cache + " " + bin("run_clm") + model + dir_ + "/hubds_run"
                        " --dataset_name Salesforce/wikitext");
  ASSERT_EQ(from_cache.status, 0) << from_cache.output;
  EXPECT_THAT(from_cache.output, HasSubstr("loading Salesforce/wikitext (configuration wikitext-2-raw-v1) from the "
                                           "Hugging Face datasets cache"));
  for (const char* f : {"/train_results.json", "/eval_results.json"}) {
    const Json a = read_json_file(dir_ + "/hubds_ref" + f), b = read_json_file(dir_ + "/hubds_run" + f);
    for (const char* k : {"train_loss", "train_samples", "eval_loss", "eval_samples"})
      EXPECT_EQ(a.value(k, Json()), b.value(k, Json())) << f << " " << k;
  }
  // run_clm.py's model card kwargs: dataset tags and name.
  const std::string card = read_file(dir_ + "/hubds_run/README.md");
  EXPECT_THAT(card, HasSubstr("datasets:\n- Salesforce/wikitext\n"));
  EXPECT_THAT(card, HasSubstr("on the Salesforce/wikitext dataset."));
  // A second configuration without a validation split: the name is needed now, and train[:5%] becomes validation.
  prepare("wikitext-103-raw-v1", {"train"});
  auto ambiguous = run("HF_DATASETS_CACHE=" + cache + " " + bin("run_clm") + model + dir_ + "/hubds_ambiguous"
                       " --dataset_name Salesforce/wikitext");
  EXPECT_EQ(ambiguous.status, 1);
  EXPECT_THAT(ambiguous.output, HasSubstr("--dataset_name: Salesforce/wikitext: several configurations are cached "
                                          "(wikitext-103-raw-v1, wikitext-2-raw-v1)"));
  // --cache_dir names the datasets cache as it does in run_clm.py's load_dataset(cache_dir=...).
  auto carved =
      run("HF_DATASETS_CACHE=" + dir_ + "/no_cache " + bin("run_clm") + model + dir_ +
          "/hubds_103"
          " --dataset_name Salesforce/wikitext --dataset_config_name wikitext-103-raw-v1 --cache_dir " +
          cache);
  ASSERT_EQ(carved.status, 0) << carved.output;
  EXPECT_GT(read_json_file(dir_ + "/hubds_103/eval_results.json")["eval_samples"].get<int64_t>(), 0);
  EXPECT_THAT(read_file(dir_ + "/hubds_103/README.md"),
              HasSubstr("on the Salesforce/wikitext wikitext-103-raw-v1 dataset."));
  auto missing = run("HF_DATASETS_CACHE=" + cache + " " + bin("run_clm") + model + dir_ + "/hubds_missing"
                     " --dataset_name org/absent");
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.output, HasSubstr("--dataset_name: org/absent: not a local folder and not in the Hugging Face "
                                        "datasets cache (" + cache + "/org___absent)"));
  EXPECT_THAT(missing.output, HasSubstr("there is no network download here"));
  auto streaming = run("HF_DATASETS_CACHE=" + cache + " " + bin("run_clm") + model + dir_ + "/hubds_stream"
                       " --dataset_name Salesforce/wikitext --dataset_config_name wikitext-2-raw-v1 --streaming");
  EXPECT_EQ(streaming.status, 1);
  EXPECT_THAT(streaming.output, HasSubstr("read through memory-mapped Arrow files instead"));
}

// --dataset_name FOLDER loads it as datasets' load_dataset(folder, config): here a Hub dataset's files as
// huggingface-cli downloads them, configurations declared in README.md; the same rows as the files given directly.
TEST_F(RunClmTest, DatasetFolderWithCardConfigurationsTrainsAsItsFiles) {
  const fs::path folder = fs::path(dir_) / "card_folder";
  for (const char* cfg : {"small", "big"})
    for (const char* split : {"train", "validation"}) {
      std::ifstream in(dir_ + "/" + split + ".txt");
      fs::create_directories(folder / cfg);
      std::ofstream out(folder / cfg / (std::string(split) + "-00000-of-00001.csv"));
      out << "text\n";
      std::string line;
      while (std::getline(in, line)) out << "\"" << line << "\"\n";
    }
  write_file_atomic((folder / "README.md").string(),
                    "---\nconfigs:\n- config_name: big\n  data_files:\n  - split: train\n    path: big/train-*\n"
                    "  - split: validation\n    path: big/validation-*\n- config_name: small\n  data_files:\n"
                    "  - split: train\n    path: small/train-*\n  - split: validation\n    path: small/validation-*\n"
                    "---\n# A card\n");
  const std::string model = " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
                            "vocab_size=300 --tokenizer_name " + dir_ + "/tok --block_size 32 --do_train --do_eval"
                            " --max_steps 3 --seed 5 --report_to none --output_dir ";
  auto direct = run(bin("run_clm") + model + dir_ + "/card_ref --train_file " + (folder / "small").string() +
                    "/train-00000-of-00001.csv --validation_file " + (folder / "small").string() +
                    "/validation-00000-of-00001.csv");
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto from_folder = run(bin("run_clm") + model + dir_ + "/card_run --dataset_name " + folder.string() +
                         " --dataset_config_name small");
  ASSERT_EQ(from_folder.status, 0) << from_folder.output;
  for (const char* f : {"/train_results.json", "/eval_results.json"}) {
    const Json a = read_json_file(dir_ + "/card_ref" + f), b = read_json_file(dir_ + "/card_run" + f);
    for (const char* k : {"train_loss", "train_samples", "eval_loss", "eval_samples"})
      EXPECT_EQ(a.value(k, Json()), b.value(k, Json())) << f << " " << k;
  }
  // The same folder as a dataset repository huggingface-cli downloaded into the hub cache (no Arrow cache from
  // Python's load_dataset): datasets--org--cards/snapshots/<commit>, refs/main naming it.
  const fs::path repo = fs::path(dir_) / "card_hub" / "datasets--org--cards";
  fs::create_directories(repo / "refs");
  write_file_atomic((repo / "refs" / "main").string(), "abc123\n");
  fs::create_directories(repo / "snapshots");
  fs::copy(folder, repo / "snapshots" / "abc123", fs::copy_options::recursive);
  auto from_hub = run("HF_HUB_CACHE=" + (fs::path(dir_) / "card_hub").string() + " HF_DATASETS_CACHE=" + dir_ +
                      "/card_no_arrow " + bin("run_clm") + model + dir_ + "/card_hub_run --dataset_name org/cards"
                      " --dataset_config_name small");
  ASSERT_EQ(from_hub.status, 0) << from_hub.output;
  EXPECT_THAT(from_hub.output, HasSubstr("loading org/cards from its files in the Hugging Face hub cache"));
  EXPECT_EQ(read_json_file(dir_ + "/card_ref/eval_results.json")["eval_loss"],
            read_json_file(dir_ + "/card_hub_run/eval_results.json")["eval_loss"]);
  auto absent = run("HF_HUB_CACHE=" + (fs::path(dir_) / "card_hub").string() + " HF_DATASETS_CACHE=" + dir_ +
                    "/card_no_arrow " + bin("run_clm") + model + dir_ + "/card_absent --dataset_name org/other");
  EXPECT_EQ(absent.status, 1);
  EXPECT_THAT(absent.output, HasSubstr("its repository is not in the hub cache either (" +
                                       (fs::path(dir_) / "card_hub" / "datasets--org--other").string() + ")"));
  auto unnamed = run(bin("run_clm") + model + dir_ + "/card_unnamed --dataset_name " + folder.string());
  EXPECT_EQ(unnamed.status, 1);
  EXPECT_THAT(unnamed.output, HasSubstr("--dataset_name: " + (folder / "README.md").string() +
                                        ": several configurations and none is the default: name one of big, small"));
}

TEST_F(RunClmTest, RunMlmResizesAPretrainedBertToTheTokenizer) {
  std::string pretrained = dir_ + "/pretrained_bert_250", out = dir_ + "/mlm_resized";
  auto init = run(bin("tcpp") + " model init --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,"
                  "num_attention_heads=2,intermediate_size=64,max_position_embeddings=64,vocab_size=250 --output " +
                  pretrained);
  ASSERT_EQ(init.status, 0) << init.output;
  auto r = run(bin("run_mlm") + " --model_name_or_path " + pretrained + " --tokenizer_name " + dir_ + "/tok"
               " --train_file " + dir_ + "/train.txt --max_seq_length 32 --do_train --max_steps 2"
               " --per_device_train_batch_size 4 --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("from 250 to the tokenizer's 300 tokens"));
  EXPECT_EQ(read_json_file(out + "/config.json")["vocab_size"], 300);
}

TEST_F(RunClmTest, RunMlmTrainsBertFromScratch) {
  std::string out = dir_ + "/mlm";
  auto r = run(bin("run_mlm") + " --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,"
               "num_attention_heads=2,intermediate_size=64,max_position_embeddings=64,vocab_size=300 --tokenizer_name " +
               dir_ + "/tok --train_file " + dir_ + "/train.txt --validation_file " + dir_ + "/validation.txt"
               " --max_seq_length 32 --do_train --do_eval --max_steps 4 --per_device_train_batch_size 4"
               " --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  Json eval = read_json_file(out + "/eval_results.json");
  EXPECT_TRUE(eval.contains("perplexity"));
  EXPECT_TRUE(std::isfinite(eval["eval_loss"].get<double>()));
}

// Issue #7's proof asks for run_mlm from raw txt (above), JSON Lines and a saved dataset folder too.
TEST_F(RunClmTest, RunMlmTrainsFromJsonLinesAndFromASavedTextFolder) {
  const std::string bert = " --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,"
                           "num_attention_heads=2,intermediate_size=64,max_position_embeddings=64,vocab_size=300"
                           " --max_seq_length 32 --do_train --do_eval --max_steps 2 --report_to none --tokenizer_name " +
                           dir_ + "/tok";
  std::string jsonl = dir_ + "/mlm_train.jsonl", saved = dir_ + "/mlm_saved";
  {
    std::ifstream in(dir_ + "/train.txt");
    std::ofstream o(jsonl);
    std::string line;
    while (std::getline(in, line)) o << "{\"text\": \"" << line << "\"}\n";
  }
  auto a = run(bin("run_mlm") + bert + " --train_file " + jsonl + " --validation_split_percentage 10 --output_dir " +
               dir_ + "/mlm_jsonl");
  ASSERT_EQ(a.status, 0) << a.output;
  EXPECT_GT(read_json_file(dir_ + "/mlm_jsonl/eval_results.json")["eval_samples"].get<int64_t>(), 0);
  auto c = run(bin("tcpp") + " dataset convert --data_files " + dir_ + "/train.txt --output " + saved);
  ASSERT_EQ(c.status, 0) << c.output;
  auto v = run(bin("tcpp") + " dataset convert --data_files " + dir_ + "/validation.txt --output " + saved + "_val");
  ASSERT_EQ(v.status, 0) << v.output;
  auto b = run(bin("run_mlm") + bert + " --train_file " + saved + " --validation_file " + saved +
               "_val --output_dir " + dir_ + "/mlm_saved_out");
  ASSERT_EQ(b.status, 0) << b.output;
  Json eval = read_json_file(dir_ + "/mlm_saved_out/eval_results.json");
  EXPECT_TRUE(std::isfinite(eval["eval_loss"].get<double>()));
  EXPECT_GT(read_json_file(dir_ + "/mlm_saved_out/train_results.json")["train_samples"].get<int64_t>(), 0);
}

TEST_F(RunClmTest, RunMlmLineByLineDropsBlankLines) {
  std::string val = dir_ + "/val_blank.txt", out = dir_ + "/mlm_lbl";
  std::ofstream(val) << "the jury said.\n\n   \nthe city election was held.\n";
  auto r = run(bin("run_mlm") + " --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,"
               "num_attention_heads=2,intermediate_size=64,max_position_embeddings=64,vocab_size=300 --tokenizer_name " +
               dir_ + "/tok --train_file " + dir_ + "/train.txt --validation_file " + val +
               " --line_by_line --max_seq_length 16 --do_eval --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_json_file(out + "/eval_results.json")["eval_samples"], 2);
}

TEST_F(RunClmTest, StreamingTrainsFromTheFileWithoutACacheAndEvaluatesTheValidationFile) {
  std::string out = dir_ + "/streaming";
  auto r = run(bin("run_clm") + clm_args(out) + " --streaming --do_train --do_eval --max_steps 8 --save_steps 4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Num examples = unknown (streamed)"));
  Json state = read_json_file(out + "/trainer_state.json");
  EXPECT_EQ(state["global_step"], 8);
  EXPECT_TRUE(read_json_file(out + "/eval_results.json").contains("eval_loss"));
  // Resuming a streamed run replays the stream to where checkpoint-4 stopped and ends with the same weights.
  std::string part = dir_ + "/streaming_part";
  fs::create_directories(part);
  fs::copy(out + "/checkpoint-4", part + "/checkpoint-4", fs::copy_options::recursive);
  auto b = run(bin("run_clm") + clm_args(part) + " --streaming --do_train --max_steps 8 --save_steps 4");
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(read_file(out + "/model.safetensors"), read_file(part + "/model.safetensors"));
  auto c = run(bin("run_clm") + clm_args(dir_ + "/streaming_no_steps") + " --streaming --do_train");
  EXPECT_NE(c.status, 0);
  EXPECT_THAT(c.output, HasSubstr("max_steps"));
}

// --streaming with --dataset_name FOLDER streams the folder's train files (HF: load_dataset(folder, streaming=True))
// and evaluates its validation split: the same run as streaming those files given directly (datasets' text builder
// drops the line breaks here, as run_clm.py passes no keep_linebreaks with a dataset name).
TEST_F(RunClmTest, StreamingADatasetFolderStreamsItsTrainFiles) {
  const fs::path folder = fs::path(dir_) / "stream_folder";
  fs::create_directories(folder);
  fs::copy_file(dir_ + "/train.txt", folder / "train.txt", fs::copy_options::overwrite_existing);
  fs::copy_file(dir_ + "/validation.txt", folder / "validation.txt", fs::copy_options::overwrite_existing);
  const std::string model = " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
                            "vocab_size=300 --tokenizer_name " + dir_ + "/tok --block_size 32 --do_train --do_eval"
                            " --streaming --max_steps 4 --seed 5 --report_to none --output_dir ";
  auto direct = run(bin("run_clm") + model + dir_ + "/stream_folder_ref --train_file " + (folder / "train.txt").string() +
                    " --validation_file " + (folder / "validation.txt").string() + " --keep_linebreaks false");
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto streamed = run(bin("run_clm") + model + dir_ + "/stream_folder_run --dataset_name " + folder.string());
  ASSERT_EQ(streamed.status, 0) << streamed.output;
  EXPECT_THAT(streamed.output, HasSubstr("Num examples = unknown (streamed)"));
  EXPECT_EQ(streamed.output.find("of split train"), std::string::npos) << "the train split was converted";
  for (const char* f : {"/train_results.json", "/eval_results.json"}) {
    const Json a = read_json_file(dir_ + "/stream_folder_ref" + f), b = read_json_file(dir_ + "/stream_folder_run" + f);
    for (const char* k : {"train_loss", "eval_loss", "eval_samples"})
      EXPECT_EQ(a.value(k, Json()), b.value(k, Json())) << f << " " << k;
  }
  // Without a validation split the train[:5%] split would need the stream's length.
  fs::remove(folder / "validation.txt");
  auto no_validation = run(bin("run_clm") + model + dir_ + "/stream_folder_noval --dataset_name " + folder.string());
  EXPECT_EQ(no_validation.status, 1);
  EXPECT_THAT(no_validation.output, HasSubstr("has no validation split"));
}

// A gzip-compressed --train_file / --validation_file (run_clm.py's extension check refuses ".gz", though
// load_dataset reads it) trains as the plain files do, loaded through the cache and streamed.
TEST_F(RunClmTest, CompressedDataFilesTrainAsThePlainFiles) {
  const std::string data = dir_ + "/gz_data";
  fs::create_directories(data);
  for (const char* f : {"train.txt", "validation.txt"}) {
    fs::copy_file(dir_ + "/" + f, data + "/" + f, fs::copy_options::overwrite_existing);
    ASSERT_EQ(run("gzip -kf " + data + "/" + f).status, 0);
  }
  const std::string model = " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
                            "vocab_size=300 --tokenizer_name " + dir_ + "/tok --block_size 32 --do_train --do_eval"
                            " --max_steps 4 --seed 5 --report_to none --cache_dir " + data + "/cache --output_dir ";
  for (const std::string streaming : {"", " --streaming"}) {
    SCOPED_TRACE(streaming);
    const std::string out = data + "/run" + (streaming.empty() ? "" : "_streamed");
    auto plain = run(bin("run_clm") + model + out + "_plain --train_file " + data + "/train.txt --validation_file " +
                     data + "/validation.txt" + streaming);
    ASSERT_EQ(plain.status, 0) << plain.output;
    auto gz = run(bin("run_clm") + model + out + "_gz --train_file " + data + "/train.txt.gz --validation_file " +
                  data + "/validation.txt.gz" + streaming);
    ASSERT_EQ(gz.status, 0) << gz.output;
    for (const char* f : {"/train_results.json", "/eval_results.json"}) {
      const Json a = read_json_file(out + "_plain" + f), b = read_json_file(out + "_gz" + f);
      for (const char* k : {"train_loss", "eval_loss", "eval_samples", "train_samples"})
        EXPECT_EQ(a.value(k, Json()), b.value(k, Json())) << f << " " << k;
    }
    EXPECT_EQ(read_file(out + "_plain/model.safetensors"), read_file(out + "_gz/model.safetensors"));
  }
}

TEST_F(RunClmTest, GradientCheckpointingTrainsTheSameLosses) {
  auto losses = [&](const std::string& out, const std::string& extra) {
    auto r = run(bin("run_clm") + clm_args(out) + " --do_train --max_steps 4 --logging_steps 1" + extra);
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<double> v;
    const Json state = read_json_file(out + "/trainer_state.json");
    for (const auto& e : state["log_history"])
      if (e.contains("loss")) v.push_back(e["loss"].get<double>());
    return v;
  };
  const auto plain = losses(dir_ + "/gc_off", "");
  const auto recomputed = losses(dir_ + "/gc_on", " --gradient_checkpointing");
  ASSERT_EQ(plain.size(), 4u);
  ASSERT_EQ(recomputed.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(plain[i], recomputed[i], 1e-4) << "step " << i + 1;
}

// `tcpp schedule` previews the learning rates run_clm logs for the same flags (here a schedule the trainer once
// refused after the parser had accepted it).
TEST_F(RunClmTest, ScheduleCommandPrintsTheLearningRatesRunClmLogs) {
  const std::string out = dir_ + "/schedule";
  const std::string flags = " --max_steps 5 --lr_scheduler_type cosine_warmup_with_min_lr --warmup_steps 2"
                            " --lr_scheduler_kwargs '{\"min_lr_rate\": 0.1}'";
  auto r = run(bin("run_clm") + clm_args(out) + " --do_train --logging_steps 1" + flags);
  ASSERT_EQ(r.status, 0) << r.output;
  auto s = run(bin("tcpp") + " schedule --learning_rate 3e-3" + flags + " 2>/dev/null");
  ASSERT_EQ(s.status, 0) << s.output;
  const Json preview = parse_json(s.output, "tcpp schedule");
  ASSERT_EQ(preview["learning_rate"].size(), 5u);
  EXPECT_DOUBLE_EQ(preview["learning_rate"][0].get<double>(), 1.5e-3);  // (0 + 1) / 2 of the peak
  int logged = 0;
  const Json state = read_json_file(out + "/trainer_state.json");
  for (const auto& e : state["log_history"]) {
    if (!e.contains("learning_rate")) continue;
    const int step = e["step"].get<int>();
    ASSERT_GE(step, 1);
    EXPECT_DOUBLE_EQ(e["learning_rate"].get<double>(), preview["learning_rate"][step - 1].get<double>()) << step;
    ++logged;
  }
  EXPECT_EQ(logged, 5);
  auto bad = run(bin("tcpp") + " schedule --lr_scheduler_type cosine");
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.output, HasSubstr("--max_steps: the schedule's length"));
}

// run_mlm's flags for a tiny BERT on the corpus in dir_, writing to out.
std::string tiny_mlm_args(const std::string& dir, const std::string& out) {
  return " --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,num_attention_heads=2,"
         "intermediate_size=64,max_position_embeddings=64,vocab_size=300 --tokenizer_name " + dir + "/tok"
         " --train_file " + dir + "/train.txt --validation_file " + dir + "/validation.txt --max_seq_length 32"
         " --per_device_train_batch_size 4 --per_device_eval_batch_size 8 --logging_steps 1 --report_to none"
         " --seed 3 --output_dir " + out;
}

std::vector<Json> log_entries(const std::string& out, const char* key) {
  std::vector<Json> v;
  const Json state = read_json_file(out + "/trainer_state.json");  // outlives the loop over its log_history
  for (const auto& e : state["log_history"])
    if (e.contains(key)) v.push_back(e);
  return v;
}

TEST_F(RunClmTest, RunMlmStreamsTheTrainFileGroupedOrLineByLineAndResumesExactly) {
  std::string out = dir_ + "/mlm_streaming";
  auto r = run(bin("run_mlm") + tiny_mlm_args(dir_, out) + " --streaming --do_train --do_eval --max_steps 6 --save_steps 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Num examples = unknown (streamed)"));
  EXPECT_EQ(read_json_file(out + "/trainer_state.json")["global_step"], 6);
  EXPECT_TRUE(std::isfinite(read_json_file(out + "/eval_results.json")["eval_loss"].get<double>()));
  // Resuming replays the stream and restores the masking generator: the same weights as the uninterrupted run.
  std::string part = dir_ + "/mlm_streaming_part";
  fs::create_directories(part);
  fs::copy(out + "/checkpoint-3", part + "/checkpoint-3", fs::copy_options::recursive);
  auto b = run(bin("run_mlm") + tiny_mlm_args(dir_, part) + " --streaming --do_train --max_steps 6 --save_steps 3");
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(read_file(out + "/model.safetensors"), read_file(part + "/model.safetensors"));
  // One example per non-empty line: every batch is padded to its longest line, at most max_seq_length tokens.
  std::string lbl = dir_ + "/mlm_streaming_lbl";
  auto c = run(bin("run_mlm") + tiny_mlm_args(dir_, lbl) + " --streaming --line_by_line --do_train --max_steps 3"
               " --include_num_input_tokens_seen all");
  ASSERT_EQ(c.status, 0) << c.output;
  const auto logs = log_entries(lbl, "loss");
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_LT(logs.back()["num_input_tokens_seen"].get<int64_t>(), 3 * 4 * 32);  // lines are shorter than 32 tokens
}

// With workers run_mlm's masks are HF's workers' (each masks from a generator of its own, seeded as HF seeds its
// worker processes): how far they read ahead changes nothing, their number changes the masks (as in HF's), and a
// run resumed from a checkpoint taken mid-epoch trains on as the uninterrupted run.
TEST_F(RunClmTest, RunMlmWithDataloaderWorkersMasksAsHfWorkersAndResumesExactly) {
  auto losses = [&](const std::string& out, const std::string& extra) {
    auto r = run(bin("run_mlm") + tiny_mlm_args(dir_, out) + " --do_train --do_eval --eval_steps 2 --eval_strategy steps"
                 " --max_steps 4 --save_steps 2" + extra);
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<Json> v;
    const Json state = read_json_file(out + "/trainer_state.json");
    for (const auto& e : state["log_history"])
      v.push_back(e.contains("loss") ? e["loss"] : e.contains("eval_loss") ? e["eval_loss"] : Json(nullptr));
    // The evaluation after training (workers of its own: masks of their own).
    v.push_back(read_json_file(out + "/eval_results.json")["eval_loss"]);
    return v;
  };
  const std::string two_dir = dir_ + "/mlm_workers_2";
  const auto two = losses(two_dir, " --dataloader_num_workers 2");
  ASSERT_EQ(two.size(), 4u + 2u + 1u + 1u);  // 4 steps, 2 evaluations, the train metrics, the final evaluation
  EXPECT_EQ(two, losses(dir_ + "/mlm_workers_2_ahead", " --dataloader_num_workers 2 --dataloader_prefetch_factor 3"));
  EXPECT_NE(two, losses(dir_ + "/mlm_workers_1", " --dataloader_num_workers 1"));
  // checkpoint-2, taken mid-epoch with batches read ahead, resumed in a folder of its own.
  ASSERT_LT(read_json_file(two_dir + "/checkpoint-2/trainer_state.json")["epoch"].get<double>(), 1.0);
  const std::string part = dir_ + "/mlm_workers_part";
  fs::create_directories(part);
  fs::copy(two_dir + "/checkpoint-2", part + "/checkpoint-2", fs::copy_options::recursive);
  EXPECT_EQ(losses(part, " --dataloader_num_workers 2"), two);
  EXPECT_EQ(read_file(two_dir + "/model.safetensors"), read_file(part + "/model.safetensors"));
}

TEST_F(RunClmTest, EvalOnStartAndTokenCountsReachTheTrainerState) {
  std::string out = dir_ + "/eval_on_start";
  auto r = run(bin("run_clm") + clm_args(out) + " --do_train --do_eval --eval_on_start --max_steps 2 --logging_steps 1"
               " --include_num_input_tokens_seen true");  // a boolean maps to "all"
  ASSERT_EQ(r.status, 0) << r.output;
  const Json state = read_json_file(out + "/trainer_state.json");
  const Json& first = state["log_history"][0];
  EXPECT_TRUE(first.contains("eval_loss")) << first;
  EXPECT_EQ(first["step"], 0);
  EXPECT_TRUE(first["epoch"].is_number_integer()) << first;  // HF 4.57 writes "epoch": 0 before the first step
  EXPECT_EQ(first["epoch"], 0);
  EXPECT_EQ(first["num_input_tokens_seen"], 0);
  for (const auto& e : log_entries(out, "loss")) EXPECT_EQ(e["num_input_tokens_seen"], 4 * 32 * e["step"].get<int64_t>());
  EXPECT_EQ(state["num_input_tokens_seen"], 2 * 4 * 32);
  auto bad = run(bin("run_clm") + clm_args(dir_ + "/eval_on_start_no_eval") + " --do_train --eval_on_start --max_steps 1");
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("--eval_on_start"));
  EXPECT_THAT(bad.output, HasSubstr("--do_eval"));
}

// Flags that change what the result files hold: memory figures (skip_memory_metrics false), tokens per second, and
// no accuracy with prediction_loss_only; the console shows them as HF's log_metrics (MB, H:MM:SS.cc).
TEST_F(RunClmTest, MetricFlagsShapeTheResultFiles) {
  std::string out = dir_ + "/metric_flags";
  auto r = run(bin("run_clm") + clm_args(out) + " --do_train --do_eval --max_steps 3 --skip_memory_metrics false"
               " --include_tokens_per_second --prediction_loss_only");
  ASSERT_EQ(r.status, 0) << r.output;
  const Json all = read_json_file(out + "/all_results.json");
  for (const char* key : {"before_init_mem_cpu", "init_mem_cpu_alloc_delta", "init_mem_cpu_peaked_delta",
                          "train_mem_cpu_alloc_delta", "train_mem_cpu_peaked_delta", "eval_mem_cpu_alloc_delta",
                          "eval_mem_cpu_peaked_delta"})
    EXPECT_TRUE(all.contains(key) && all[key].is_number_integer()) << key << ": " << all;
  EXPECT_GT(all["before_init_mem_cpu"].get<int64_t>(), 1 << 20);
  EXPECT_GE(all["train_mem_cpu_peaked_delta"].get<int64_t>(), 0);
  // 3 steps of 4 blocks of 32 tokens, over train_runtime (rounded to 4 places in the file).
  const double tokens = all["train_tokens_per_second"].get<double>() * all["train_runtime"].get<double>();
  EXPECT_NEAR(tokens, 3 * 4 * 32, 3 * 4 * 32 * 0.05) << all;
  EXPECT_FALSE(all.contains("eval_accuracy")) << all;
  EXPECT_TRUE(all.contains("eval_loss"));
  EXPECT_THAT(r.output, testing::ContainsRegex("train_mem_cpu_alloc_delta += +-?[0-9]+MB"));
  EXPECT_THAT(r.output, testing::ContainsRegex("train_runtime += [0-9]+:[0-9][0-9]:[0-9][0-9]\\.[0-9][0-9]"));
  // Without the flags: none of these keys, and the accuracy is back.
  std::string plain = dir_ + "/metric_flags_off";
  ASSERT_EQ(run(bin("run_clm") + clm_args(plain) + " --do_train --do_eval --max_steps 1").status, 0);
  const Json off = read_json_file(plain + "/all_results.json");
  EXPECT_FALSE(off.contains("train_mem_cpu_alloc_delta") || off.contains("train_tokens_per_second")) << off;
  EXPECT_TRUE(off.contains("eval_accuracy")) << off;
}

// --save_safetensors false: checkpoints and the final model as pytorch_model.bin (torch.save's format), which a
// resume reads back.
TEST_F(RunClmTest, SaveSafetensorsFalseWritesBinFilesThatResume) {
  const std::string out = dir_ + "/bin_weights";
  const std::string flags = " --do_train --max_steps 4 --save_steps 2 --save_safetensors false";
  auto r = run(bin("run_clm") + clm_args(out) + flags);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const std::string& dir : {out, out + "/checkpoint-2", out + "/checkpoint-4"}) {
    EXPECT_TRUE(fs::exists(dir + "/pytorch_model.bin")) << dir;
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors")) << dir;
  }
  fs::remove_all(out + "/checkpoint-4");
  auto again = run(bin("run_clm") + clm_args(out) + flags + " --resume_from_checkpoint " + out + "/checkpoint-2");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_TRUE(fs::exists(out + "/checkpoint-4/pytorch_model.bin"));
}

TEST_F(RunClmTest, DatasetPathTrainsOnAPreparedFolderThatShowDecodes) {
  std::string prepared = dir_ + "/prepared_for_path", out = dir_ + "/from_dataset_path";
  auto p = run(bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " + dir_ +
               "/train.txt --validation_file " + dir_ + "/validation.txt --block_size 32 --output " + prepared);
  ASSERT_EQ(p.status, 0) << p.output;
  auto r = run(bin("run_clm") + " --model_type gpt2 --config_overrides n_embd=32,n_layer=1,n_head=2,n_positions=64,"
               "vocab_size=300 --tokenizer_name " + dir_ + "/tok --dataset_path " + prepared +
               " --do_train --do_eval --max_steps 2 --report_to none --output_dir " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already tokenized"));
  EXPECT_TRUE(fs::exists(out + "/eval_results.json"));
  auto bad = run(bin("run_clm") + " --model_type gpt2 --tokenizer_name " + dir_ + "/tok --dataset_path " + dir_ +
                 "/train.txt --do_train --output_dir " + dir_ + "/bad_dataset_path");
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("--dataset_path"));
  EXPECT_THAT(bad.output, HasSubstr("train.txt\" is not a dataset folder saved with save_to_disk"));

  // `tcpp dataset show --tokenizer`: the token ids read back as the text they came from.
  const std::string train_text = read_file(dir_ + "/train.txt");
  auto table = run(bin("tcpp") + " dataset show " + prepared + " --rows 2 --tokenizer " + dir_ + "/tok");
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr("decoded:\n[0] input_ids: \""));
  EXPECT_THAT(table.output, HasSubstr("[0] labels: = input_ids"));
  auto jsonl = run("(" + bin("tcpp") + " dataset show " + prepared + " --rows 1 --format jsonl --tokenizer " + dir_ +
                   "/tok 2>/dev/null)");
  ASSERT_EQ(jsonl.status, 0) << jsonl.output;
  const Json row = parse_json(jsonl.output.substr(0, jsonl.output.find('\n')), "tcpp dataset show");
  const std::string decoded = row["input_ids_decoded"].get<std::string>();
  EXPECT_GT(decoded.size(), 20u);
  EXPECT_EQ(train_text.rfind(decoded, 0), 0u) << decoded;  // the first block is the start of the file
  EXPECT_EQ(row["labels_decoded"], decoded);

  // Ids the tokenizer does not have name the row and column.
  std::string ids = dir_ + "/foreign_ids.jsonl", saved = dir_ + "/foreign_ids";
  std::ofstream(ids) << "{\"input_ids\": [5, 6]}\n{\"input_ids\": [7, 40000]}\n";
  auto c = run(bin("tcpp") + " dataset convert --data_files " + ids + " --output " + saved + " --cache_dir " + dir_ + "/cache");
  ASSERT_EQ(c.status, 0) << c.output;
  auto foreign = run(bin("tcpp") + " dataset show " + saved + " --tokenizer " + dir_ + "/tok");
  EXPECT_NE(foreign.status, 0);
  EXPECT_THAT(foreign.output, HasSubstr("row 1, column \"input_ids\": token id 40000 is outside the tokenizer's vocabulary of 300"));
}

}  // namespace
}  // namespace tcpp
