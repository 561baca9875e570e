// Fuzz target: the files a resumed run reads besides the weights and trainer_state.json (Trainer::load_checkpoint):
// optimizer.pt (load_optimizer: LibTorch's archive reader and AdamW's loader, then our checks of what they took; and
// load_hf_optimizer, the optimizer's state_dict pickle we also write for Python's Trainer, for AdamW and Adafactor),
// rng_state.pt (load_rng_state; and the same content as transformers' rng_state.pth, load_hf_rng_state), scheduler.json
// (LRScheduler::load_state_dict under four schedule types) and scaler.json (GradScaler::load_state_dict). The first
// byte picks the file (mod 4); the rest is its content. For the two LibTorch archives, content starting with "PK\3\4"
// is the whole zip; any other content is cut at "\n--record--\n" into records "NAME\nBYTES" that the target zips with
// LibTorch's own PyTorchStreamWriter, so that mutations reach the pickles and tensors instead of dying in the zip's CRC
// checks. What loads is then used: an optimizer step, numbers drawn from both generators (through a copy of the mt19937
// engine in this instrumented file, so a position past the state array is an ASan report), scheduler steps and scaler
// updates.
//
// With TCPP_FUZZ_WRITE_SEEDS=DIR set, the target writes seeds made by the Trainer's own writers (save_optimizer after
// two AdamW steps, rng_state_bytes, scheduler and scaler state_dict()) into DIR and exits; scripts/fuzz.sh does that.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fuzz_util.h"
#include "torch_fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/models/pytorch_bin.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/hf_checkpoint.h"
#include "tcpp/trainer/mixed_precision.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/schedulers.h"

namespace {

using tcpp::Json;
namespace tr = tcpp::trainer;

const char* const kRecordSep = "\n--record--\n";

// The expected answer to a bad file; TCPP_FUZZ_VERBOSE=1 prints it (to see which check a regression input hits).
void refused(const tcpp::Error& e) {
  static const bool verbose = std::getenv("TCPP_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
}

// A Linear(4, 3): its weight decays and its bias does not, so the optimizer (AdamW, or the Trainer's other
// --optim) has two parameter groups as the Trainer's.
struct Model {
  torch::nn::Linear linear{torch::nn::LinearOptions(4, 3)};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  explicit Model(const std::string& optim = "adamw_torch") {
    torch::manual_seed(0);
    linear = torch::nn::Linear(torch::nn::LinearOptions(4, 3));
    tr::OptimizerOptions o;
    o.optim = optim;
    o.weight_decay = 0.01;
    optimizer = tr::create_optimizer(*linear, o);
  }
  void step() {
    for (auto& p : linear->parameters()) p.mutable_grad() = torch::ones_like(p);
    optimizer->step();
  }
};

std::vector<tr::SchedulerOptions> scheduler_kinds() {
  std::vector<tr::SchedulerOptions> kinds(4);
  kinds[0].lr_scheduler_type = "linear";
  kinds[1].lr_scheduler_type = "cosine_with_restarts";
  kinds[1].lr_scheduler_kwargs = {{"num_cycles", 2}};
  kinds[2].lr_scheduler_type = "polynomial";
  kinds[3].lr_scheduler_type = "reduce_lr_on_plateau";
  for (auto& k : kinds) {
    k.num_warmup_steps = 2;
    k.num_training_steps = 10;
  }
  return kinds;
}

// The archive at `path`, written from the fuzz content (a whole zip, or records zipped here).
void write_archive(const std::string& path, const std::string& content) {
  if (content.size() >= 4 && std::memcmp(content.data(), "PK\x03\x04", 4) == 0) {
    std::ofstream(path, std::ios::binary) << content;
    return;
  }
  caffe2::serialize::PyTorchStreamWriter writer(path);
  // The writer refuses a name twice (an internal assert) and data under a name ending in '/' (a folder to miniz; it
  // then throws from its destructor too, ending the process): those records are left out.
  std::set<std::string> written;
  for (const auto& rec : tcpp::fuzz::split_input(reinterpret_cast<const uint8_t*>(content.data()), content.size(),
                                                 kRecordSep)) {
    const size_t nl = rec.find('\n');
    std::string name = rec.substr(0, nl);
    if (name.empty() || name.back() == '/' || name.find('\0') != std::string::npos || !written.insert(name).second)
      continue;
    const std::string bytes = nl == std::string::npos ? std::string() : rec.substr(nl + 1);
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
}

// Draw from a copy of the generator's engine here, in instrumented code: a position that reads past the mt19937
// state array is an ASan report (LibTorch's own draws would read it unseen).
void draw(const at::Generator& gen) {
  at::mt19937 engine = at::check_generator<at::CPUGeneratorImpl>(gen)->engine();
  for (int i = 0; i < 700; ++i) (void)engine();
}

void fuzz_hf_optimizer(const std::string& path, const std::string& optim) {
  Model m(optim);
  try {
    tr::load_hf_optimizer(*m.optimizer, path);
  } catch (const tcpp::Error& e) {
    refused(e);
    return;
  }
  m.step();
}

void fuzz_optimizer(const std::string& content) {
  const std::string path = tcpp::fuzz::scratch_dir() + "/optimizer.pt";
  write_archive(path, content);
  fuzz_hf_optimizer(path, "adamw_torch");
  fuzz_hf_optimizer(path, "adafactor");
  Model m;
  try {
    tr::load_optimizer(*m.optimizer, path);
  } catch (const tcpp::Error& e) {
    refused(e);
    return;
  }
  for (const auto& [key, state] : m.optimizer->state()) {
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
    tcpp::fuzz::read_all(s.exp_avg());
    tcpp::fuzz::read_all(s.exp_avg_sq());
    if (s.max_exp_avg_sq().defined()) tcpp::fuzz::read_all(s.max_exp_avg_sq());
  }
  m.step();  // what the next training step does with the loaded state
}

void fuzz_rng(const std::string& content) {
  const std::string path = tcpp::fuzz::scratch_dir() + "/rng_state.pt";
  write_archive(path, content);
  try {
    tr::load_hf_rng_state(path);
    draw(at::detail::getDefaultCPUGenerator());
  } catch (const tcpp::Error& e) {
    refused(e);
  }
  torch::manual_seed(0);
  at::Generator collator = at::make_generator<at::CPUGeneratorImpl>(42);
  tr::RngExtras extras;
  try {
    tr::load_rng_state(path, collator, &extras);
  } catch (const tcpp::Error& e) {
    refused(e);
    torch::manual_seed(0);
    return;
  }
  draw(at::detail::getDefaultCPUGenerator());
  draw(collator);
  // As a resume restores the dataloader workers' generators (the evaluation ones too, with persistent workers).
  for (const auto* states : {&extras.collator_workers, &extras.eval_workers})
    for (const auto& state : *states) {
      at::Generator worker = at::make_generator<at::CPUGeneratorImpl>(0);
      worker.set_state(state);
      draw(worker);
    }
  (void)torch::rand({16}, collator).sum().item<double>();
  (void)torch::randn({16}).sum().item<double>();  // the cached normal sample, if the state had one
  torch::manual_seed(0);
}

void fuzz_scheduler(const std::string& content) {
  const std::string path = tcpp::fuzz::write_scratch("scheduler.json", reinterpret_cast<const uint8_t*>(content.data()),
                                                     content.size());
  Json state;
  try {
    state = tcpp::read_json_file(path);
  } catch (const tcpp::Error& e) {
    refused(e);
    return;
  }
  for (const auto& kind : scheduler_kinds()) {
    auto s = tr::LRScheduler::create(kind, {5e-5, 5e-5});
    try {
      s.load_state_dict(state, path);
    } catch (const tcpp::Error& e) {
      refused(e);
      continue;
    }
    for (int i = 0; i < 3; ++i) {
      s.step();
      s.step_metric(1.0 + i);
    }
    (void)s.get_last_lr();
    (void)tcpp::dump_json_python(s.state_dict(), 2);
  }
}

void fuzz_scaler(const std::string& content) {
  const std::string path = tcpp::fuzz::write_scratch("scaler.json", reinterpret_cast<const uint8_t*>(content.data()),
                                                     content.size());
  tr::GradScaler scaler;
  try {
    scaler.load_state_dict(tcpp::read_json_file(path), path);
  } catch (const tcpp::Error& e) {
    refused(e);
    return;
  }
  for (int i = 0; i < 3; ++i) scaler.update(i == 1);
  (void)tcpp::dump_json_python(scaler.state_dict(), 2);
}

// Seeds: kind byte + content, as written by the Trainer's own code.
void write_seed(const std::filesystem::path& dir, const std::string& name, char kind, const std::string& content) {
  std::ofstream(dir / name, std::ios::binary) << kind << content;
}

std::string records_of_zip(const std::string& zip) {
  std::istringstream in(zip);
  caffe2::serialize::PyTorchStreamReader reader(&in);
  std::string out;
  for (const auto& name : reader.getAllRecords()) {
    auto [data, size] = reader.getRecord(name);
    if (!out.empty()) out += kRecordSep;
    out += name + "\n" + std::string(static_cast<const char*>(data.get()), size);
  }
  return out;
}

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  Model m;
  m.step();
  m.step();
  const std::string opt_path = (dir / "optimizer.pt.tmp").string();
  tr::save_optimizer(*m.optimizer, opt_path);
  const std::string opt = tcpp::read_file(opt_path);
  std::filesystem::remove(opt_path);
  write_seed(dir, "optimizer-zip", 0, opt);
  write_seed(dir, "optimizer-records", 0, records_of_zip(opt));
  // The same state as torch.optim pickles it (what a checkpoint's optimizer.pt now holds for AdamW).
  const std::string hf_path = (dir / "optimizer-hf.tmp").string();
  tcpp::models::save_torch_pickle(hf_path, *tr::hf_optimizer_state(*m.optimizer, {5e-5, 5e-5}));
  const std::string hf = tcpp::read_file(hf_path);
  std::filesystem::remove(hf_path);
  write_seed(dir, "optimizer-hf-zip", 0, hf);
  write_seed(dir, "optimizer-hf-records", 0, records_of_zip(hf));
  Model adafactor("adafactor");  // transformers' Adafactor state (factored moments of the weight, RMS, int steps)
  adafactor.step();
  adafactor.step();
  tcpp::models::save_torch_pickle(hf_path, *tr::hf_optimizer_state(*adafactor.optimizer, {5e-5, 5e-5}));
  const std::string hf_adafactor = tcpp::read_file(hf_path);
  std::filesystem::remove(hf_path);
  write_seed(dir, "optimizer-hf-adafactor-zip", 0, hf_adafactor);
  write_seed(dir, "optimizer-hf-adafactor-records", 0, records_of_zip(hf_adafactor));

  at::Generator collator = at::make_generator<at::CPUGeneratorImpl>(42);
  (void)torch::randn({3}, collator);  // leaves a cached normal sample in the state
  const std::string rng = tr::rng_state_bytes(collator);
  write_seed(dir, "rng-zip", 1, rng);
  write_seed(dir, "rng-records", 1, records_of_zip(rng));
  tr::RngExtras workers;  // a checkpoint taken with dataloader workers mid-epoch
  for (uint64_t w = 0; w < 2; ++w) workers.collator_workers.push_back(at::detail::createCPUGenerator(7 + w).get_state());
  workers.collator_worker_next = 1;
  workers.persistent_train_epoch = 0;  // persistent workers: the DataLoaders' state and the evaluation workers
  workers.persistent_eval = true;
  for (uint64_t w = 0; w < 2; ++w) workers.eval_workers.push_back(at::detail::createCPUGenerator(11 + w).get_state());
  const std::string rng_workers = tr::rng_state_bytes(collator, workers);
  write_seed(dir, "rng-workers-zip", 1, rng_workers);
  write_seed(dir, "rng-workers-records", 1, records_of_zip(rng_workers));
  const std::string hf_rng_path = (dir / "rng-hf.tmp").string();
  tcpp::models::save_torch_pickle(hf_rng_path, tr::hf_rng_state_dict(42, at::detail::getDefaultCPUGenerator().get_state()));
  const std::string hf_rng = tcpp::read_file(hf_rng_path);
  std::filesystem::remove(hf_rng_path);
  write_seed(dir, "rng-hf-zip", 1, hf_rng);

  for (const auto& kind : scheduler_kinds()) {
    auto s = tr::LRScheduler::create(kind, {5e-5, 5e-5});
    for (int i = 0; i < 3; ++i) {
      s.step();
      s.step_metric(2.0 - i);
    }
    write_seed(dir, "scheduler-" + kind.lr_scheduler_type, 2, tcpp::dump_json_python(s.state_dict(), 2) + "\n");
  }
  tr::GradScaler scaler;
  scaler.update(false);
  scaler.update(true);
  write_seed(dir, "scaler", 3, tcpp::dump_json_python(scaler.state_dict(), 2) + "\n");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TCPP_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: fuzz_optimizer(content); break;
    case 1: fuzz_rng(content); break;
    case 2: fuzz_scheduler(content); break;
    default: fuzz_scaler(content); break;
  }
  return 0;
}
