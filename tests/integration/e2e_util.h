// Shared by the end-to-end tests: run a command and capture its output, locate the built programs, and write the
// small deterministic English-like corpus the tests train on.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace tcpp::e2e {

struct RunResult {
  int status;
  std::string output;
};

/// Run `command` through the shell with stderr folded into stdout.
inline RunResult run(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The built tcpp tool or an example program (run_clm, run_mlm).
inline std::string bin(const std::string& name) {
  return std::string(TCPP_BINARY_DIR) + (name == "tcpp" ? "/tools/tcpp" : "/examples/" + name);
}

/// dir/train.txt (600 lines) and dir/validation.txt (80 lines) of sentences over a 20-word vocabulary.
inline void write_corpus(const std::string& dir) {
  const char* words[] = {"the", "jury", "said", "that", "a", "city", "election", "was", "held", "in", "court",
                         "report", "of", "and", "to", "new", "law", "people", "state", "year"};
  std::mt19937 rng(7);
  for (const char* split : {"train", "validation"}) {
    std::ofstream out(dir + "/" + split + ".txt");
    int lines = std::string(split) == "train" ? 600 : 80;
    for (int i = 0; i < lines; ++i) {
      int n = 5 + static_cast<int>(rng() % 10);
      std::string s;
      for (int k = 0; k < n; ++k) s += std::string(k ? " " : "") + words[rng() % 20];
      out << s << ".\n";
    }
  }
}

/// Train a 300-token BPE tokenizer on dir/train.txt into dir/tok; returns the tool's result.
inline RunResult train_tokenizer(const std::string& dir) {
  return run(bin("tcpp") + " tokenizer train --model bpe --files " + dir + "/train.txt --vocab_size 300 "
             "--special_tokens '<|endoftext|>' '<pad>' '<mask>' --output " + dir + "/tok");
}

/// run_clm's flags for a tiny GPT-2 on the corpus and tokenizer in dir, writing to out; extra_config is appended to
/// --config_overrides (e.g. ",resid_pdrop=0.0").
inline std::string tiny_clm_args(const std::string& dir, const std::string& out, const std::string& extra_config = "",
                                 int logging_steps = 2) {
  return " --model_type gpt2 --config_overrides n_embd=32,n_layer=2,n_head=2,n_positions=64,vocab_size=300,"
         "bos_token_id=0,eos_token_id=0" + extra_config + " --tokenizer_name " + dir + "/tok --train_file " + dir +
         "/train.txt --validation_file " + dir + "/validation.txt --block_size 32 --per_device_train_batch_size 4"
         " --per_device_eval_batch_size 8 --learning_rate 3e-3 --logging_steps " + std::to_string(logging_steps) +
         " --report_to none --seed 3 --output_dir " + out;
}

/// A fresh folder <temp>/<prefix><pid> holding the corpus and a tokenizer trained on it (dir/tok). When training the
/// tokenizer fails, *error gets the tool's output.
inline std::string make_corpus_dir(const std::string& prefix, std::string* error) {
  const std::string dir = (std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  write_corpus(dir);
  auto r = train_tokenizer(dir);
  if (r.status != 0) *error = r.output;
  return dir;
}

}  // namespace tcpp::e2e
