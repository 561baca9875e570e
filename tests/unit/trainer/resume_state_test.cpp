// The checks on what a resumed run reads from optimizer.pt and rng_state.pt (issue #10, with the resume_state fuzz
// target): LibTorch's loaders take these archives' tensors and numbers as they are, so our readers check them before
// anything uses them, and say which file and entry is wrong.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tcpp/trainer/optimizer.h"

namespace tcpp::trainer {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
namespace fs = std::filesystem;

struct ScratchDir {
  fs::path path = fs::temp_directory_path() / ("tcpp_resume_state_test_" + std::to_string(::getpid()));
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// An AdamW over a Linear(in, 2) after one step; edit(state of parameter 0, options of group 0) runs before saving.
std::string saved_optimizer(const ScratchDir& dir, int64_t in,
                            const std::function<void(torch::optim::AdamWParamState&, torch::optim::AdamWOptions&)>& edit) {
  torch::nn::Linear model(in, 2);
  auto opt = create_adamw(*model, {});
  model(torch::randn({4, in})).sum().backward();
  opt->step();
  const auto& p0 = opt->param_groups()[0].params()[0];
  // Keyed by the TensorImpl address as a string (LibTorch 1.13) or as a pointer (2.x; c10::guts::to_string is gone).
  auto& state = static_cast<torch::optim::AdamWParamState&>(*opt->state().at(optimizer_state_key(opt->state(), p0)));
  edit(state, static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()));
  const std::string path = dir.file("optimizer.pt");
  save_optimizer(*opt, path);
  return path;
}

void load_into_linear(int64_t in, const std::string& path) {
  torch::nn::Linear model(in, 2);
  auto opt = create_adamw(*model, {});
  load_optimizer(*opt, path);
}

TEST(ResumeStateTest, OptimizerStateOfAnotherModelIsRefusedBeforeAStepUsesIt) {
  ScratchDir dir;
  const auto path = saved_optimizer(dir, 3, [](auto&, auto&) {});
  EXPECT_NO_THROW(load_into_linear(3, path));
  // Same number of groups and parameters, other shapes: LibTorch loads it; the next step would fail inside AdamW.
  EXPECT_THAT([&] { load_into_linear(5, path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": param_groups[0], parameter 0 (shape [2, 5]): exp_avg is a "
                                                         "Float [2, 3] tensor, expected Float [2, 5] (saved for another "
                                                         "model?)")));
}

TEST(ResumeStateTest, OptimizerMomentsOfAnotherDtypeAreRefused) {
  ScratchDir dir;
  auto path = saved_optimizer(dir, 3, [](auto& s, auto&) { s.exp_avg_sq(s.exp_avg_sq().to(torch::kDouble)); });
  EXPECT_THAT([&] { load_into_linear(3, path); },
              ThrowsMessage<InputError>(HasSubstr("exp_avg_sq is a Double [2, 3] tensor, expected Float [2, 3]")));
}

TEST(ResumeStateTest, OptimizerStepCountsOutOfRangeAreRefused) {
  ScratchDir dir;
  for (int64_t step : {int64_t{-5}, std::numeric_limits<int64_t>::max()}) {
    const auto path = saved_optimizer(dir, 3, [&](auto& s, auto&) { s.step(step); });
    EXPECT_THAT([&] { load_into_linear(3, path); },
                ThrowsMessage<InputError>(HasSubstr("step " + std::to_string(step) + " is not a step count")));
  }
  // The saved hyperparameters are not restored (LibTorch keeps the run's own), so odd ones in the file do no harm.
  const auto path = saved_optimizer(dir, 3, [](auto&, auto& o) { o.betas({1.5, 0.999}); });
  EXPECT_NO_THROW(load_into_linear(3, path));
}

// rng_state.pt with the given "cpu" state (and the collator's, unchanged).
std::string saved_rng(const ScratchDir& dir, const torch::Tensor& cpu) {
  torch::serialize::OutputArchive archive;
  archive.write("cpu", cpu);
  const std::string path = dir.file("rng_state.pt");
  archive.save_to(path);
  return path;
}

// The default generator's state with the mt19937 position (`left` at byte 8, `next` at byte 16) replaced.
torch::Tensor state_with_position(int32_t left, uint64_t next) {
  torch::Tensor state = at::detail::getDefaultCPUGenerator().get_state().clone();
  std::memcpy(state.data_ptr<uint8_t>() + 8, &left, sizeof left);
  std::memcpy(state.data_ptr<uint8_t>() + 16, &next, sizeof next);
  return state;
}

TEST(ResumeStateTest, RngStateWhoseMt19937PositionReadsPastTheStateIsRefused) {
  ScratchDir dir;
  torch::manual_seed(7);
  (void)torch::rand({5});  // a position in the middle of the state: left + next = 625
  const torch::Tensor good = at::detail::getDefaultCPUGenerator().get_state().clone();
  int32_t left = 0;
  std::memcpy(&left, good.data_ptr<uint8_t>() + 8, sizeof left);
  ASSERT_GT(left, 1);
  EXPECT_NO_THROW(load_rng_state(saved_rng(dir, good), std::nullopt));
  EXPECT_NO_THROW(load_rng_state(saved_rng(dir, state_with_position(1, 624)), std::nullopt));  // refills first
  const torch::Tensor loaded = at::detail::getDefaultCPUGenerator().get_state().clone();
  // LibTorch's set_state accepts both (0 < left <= 624, next <= 624); drawing would then read up to 623 words past the
  // 624-word array.
  const std::string path = saved_rng(dir, state_with_position(624, 624));
  EXPECT_THAT([&] { load_rng_state(path, std::nullopt); },
              ThrowsMessage<InputError>(HasSubstr(path + ": \"cpu\" generator state: mt19937 position out of range "
                                                         "(left 624, next 624)")));
  EXPECT_THAT([&] { load_rng_state(saved_rng(dir, state_with_position(300, 326)), std::nullopt); },
              ThrowsMessage<InputError>(HasSubstr("(left 300, next 326)")));
  // The refused files did not change the global generator.
  EXPECT_TRUE(torch::equal(at::detail::getDefaultCPUGenerator().get_state(), loaded));
}

// LibTorch sizes a loaded storage from the pickle (numel), not from the record holding its bytes: a 100-byte record
// under a 5056-byte state would be read past its end by set_state. The archive is rewritten with LibTorch's own
// writer, record data/0 cut short; check_torch_archive refuses it before LibTorch reads it (F11).
TEST(ResumeStateTest, RngStateWhoseRecordIsShorterThanTheStateIsRefused) {
  ScratchDir dir;
  const std::string good = saved_rng(dir, at::detail::getDefaultCPUGenerator().get_state());
  const std::string path = dir.file("rng_state_short.pt");
  {
    caffe2::serialize::PyTorchStreamReader reader(good);
    caffe2::serialize::PyTorchStreamWriter writer(path);
    for (const auto& name : reader.getAllRecords()) {
      if (name == "version" || name == ".data/version") continue;  // writeEndOfFile writes it
      auto [data, size] = reader.getRecord(name);
      writer.writeRecord(name, data.get(), name == "data/0" ? 100 : size);
    }
    writer.writeEndOfFile();
  }
  EXPECT_THAT([&] { load_rng_state(path, std::nullopt); },
              ThrowsMessage<InputError>(::testing::AllOf(
                  HasSubstr(path + ": data.pkl (byte "),
                  HasSubstr(") declares a Byte storage \"0\" of 5056 elements (5056 bytes), but its record "
                            "\"rng_state_short/data/0\" holds only 100 bytes"))));
}

// A copy of the archive at `from` with `bytes` of data.pkl overwritten by 0xff from `needle` on, rezipped with
// LibTorch's writer (so the zip's checksums hold).
std::string garbled_copy(const std::string& from, const std::string& to, const std::string& needle) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  for (const auto& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;
    auto [data, size] = reader.getRecord(name);
    std::string bytes(static_cast<const char*>(data.get()), size);
    if (name == "data.pkl") {
      const size_t at = bytes.find(needle);
      EXPECT_NE(at, std::string::npos) << needle;
      if (at != std::string::npos) bytes[at + 5] = '\xff';
    }
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  return to;
}

// Found by the resume_state fuzz target: LibTorch's TorchScript importer throws std::runtime_error (not c10::Error)
// for a garbled type name, which got past both readers' handlers.
TEST(ResumeStateTest, GarbledArchivesAreInputErrorsNamingTheFile) {
  ScratchDir dir;
  const std::string rng = garbled_copy(saved_rng(dir, at::detail::getDefaultCPUGenerator().get_state()),
                                       dir.file("rng_garbled.pt"), "_rebuild_tensor_v2");
  EXPECT_THAT([&] { load_rng_state(rng, std::nullopt); },
              ThrowsMessage<InputError>(HasSubstr(rng + ": cannot read RNG state: expected a valid token")));
  const std::string opt = garbled_copy(saved_optimizer(dir, 3, [](auto&, auto&) {}), dir.file("optimizer_garbled.pt"),
                                       "_rebuild_tensor_v2");
  EXPECT_THAT([&] { load_into_linear(3, opt); },
              ThrowsMessage<InputError>(HasSubstr(opt + ": cannot read optimizer state: ")));
}

TEST(ResumeStateTest, RngStateOfTheWrongTypeOrSizeIsRefused) {
  ScratchDir dir;
  EXPECT_THAT([&] { load_rng_state(saved_rng(dir, torch::zeros({100}, torch::kByte)), std::nullopt); },
              ThrowsMessage<InputError>(HasSubstr("\"cpu\" generator state: 100 bytes, expected 5056")));
  EXPECT_THAT([&] { load_rng_state(saved_rng(dir, torch::zeros({5056}, torch::kFloat)), std::nullopt); },
              ThrowsMessage<InputError>(HasSubstr("\"cpu\" generator state: expected a 1-D uint8 CPU tensor")));
  // The collator's state gets the same checks.
  torch::serialize::OutputArchive archive;
  archive.write("cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("collator", state_with_position(624, 2));
  const std::string path = dir.file("rng_state_collator.pt");
  archive.save_to(path);
  EXPECT_THAT([&] { load_rng_state(path, at::make_generator<at::CPUGeneratorImpl>(1)); },
              ThrowsMessage<InputError>(HasSubstr("\"collator\" generator state: mt19937 position out of range")));
}

// The global generator at the current epoch's start travels with its epoch number: both or neither. An earlier
// version's group_by_length checkpoint also holds "sampler" (its samplers' own generator), which is not needed.
TEST(ResumeStateTest, EpochStartStateRoundTripsAndComesWithItsEpoch) {
  ScratchDir dir;
  torch::manual_seed(3);
  RngExtras extras;
  extras.sampler_epoch_start = at::detail::getDefaultCPUGenerator().get_state().clone();
  extras.sampler_epoch = 2;
  const std::string path = dir.file("rng_state_epoch.pt");
  {
    std::ofstream out(path, std::ios::binary);
    out << rng_state_bytes(std::nullopt, extras);
  }
  RngExtras loaded;
  load_rng_state(path, std::nullopt, &loaded);
  EXPECT_EQ(loaded.sampler_epoch, 2);
  EXPECT_TRUE(torch::equal(loaded.sampler_epoch_start, extras.sampler_epoch_start));

  auto archive_with = [&](const std::string& name, bool start, bool epoch, bool old_sampler) {
    torch::serialize::OutputArchive archive;
    archive.write("cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (start) archive.write("sampler_epoch_start", at::detail::getDefaultCPUGenerator().get_state());
    if (epoch) archive.write("sampler_epoch", torch::tensor({int64_t{1}}, torch::kInt64));
    if (old_sampler) archive.write("sampler", at::detail::getDefaultCPUGenerator().get_state());
    const std::string file = dir.file(name);
    archive.save_to(file);
    return file;
  };
  const std::string half = archive_with("rng_half.pt", true, false, false);
  EXPECT_THAT([&] { load_rng_state(half, std::nullopt, &loaded); },
              ThrowsMessage<InputError>(
                  HasSubstr(half + ": \"sampler_epoch_start\" and \"sampler_epoch\" come together")));
  EXPECT_THAT([&] { load_rng_state(archive_with("rng_half2.pt", false, true, false), std::nullopt, &loaded); },
              ThrowsMessage<InputError>(HasSubstr("come together")));
  load_rng_state(archive_with("rng_old.pt", true, true, true), std::nullopt, &loaded);
  EXPECT_EQ(loaded.sampler_epoch, 1);
  load_rng_state(archive_with("rng_none.pt", false, false, false), std::nullopt, &loaded);
  EXPECT_FALSE(loaded.sampler_epoch_start.defined());
  EXPECT_EQ(loaded.sampler_epoch, -1);
}

// The dataloader workers' generators (and whose turn is next) round-trip with the collator's; a file with the
// states but not the turn, or a turn that names no saved worker, is refused naming the file and the entry.
TEST(ResumeStateTest, WorkerGeneratorsRoundTripWithWhoseTurnIsNext) {
  ScratchDir dir;
  at::Generator collator = at::detail::createCPUGenerator(5);
  RngExtras extras;
  for (uint64_t w = 0; w < 3; ++w)
    extras.collator_workers.push_back(at::detail::createCPUGenerator(10 + w).get_state());
  extras.collator_worker_next = 2;
  auto write = [&](const std::string& name, const std::string& bytes) {
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  const std::string path = write("rng_workers.pt", rng_state_bytes(collator, extras));
  RngExtras loaded;
  load_rng_state(path, collator, &loaded);
  ASSERT_EQ(loaded.collator_workers.size(), 3u);
  for (size_t w = 0; w < 3; ++w) EXPECT_TRUE(torch::equal(loaded.collator_workers[w], extras.collator_workers[w]));
  EXPECT_EQ(loaded.collator_worker_next, 2);
  // Without a collator generator nothing of the collator's is read (a checkpoint of a run with one, resumed
  // without); without workers none are loaded.
  load_rng_state(write("rng_plain.pt", rng_state_bytes(collator)), collator, &loaded);
  EXPECT_TRUE(loaded.collator_workers.empty());

  extras.collator_worker_next = 3;
  const std::string past = write("rng_past.pt", rng_state_bytes(collator, extras));
  EXPECT_THAT([&] { load_rng_state(past, collator, &loaded); },
              ThrowsMessage<InputError>(HasSubstr(past + ": \"collator_worker_next\": 3 names no worker (3 saved)")));
  torch::serialize::OutputArchive archive;
  archive.write("cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("collator", collator.get_state());
  archive.write("collator_worker_0", extras.collator_workers[0]);
  const std::string half = dir.file("rng_workers_half.pt");
  archive.save_to(half);
  EXPECT_THAT([&] { load_rng_state(half, collator, &loaded); },
              ThrowsMessage<InputError>(HasSubstr(half + ": \"collator_worker_<w>\" and \"collator_worker_next\"")));
}

// Persistent dataloader workers: which DataLoaders have their iterators, and the evaluation workers' generators.
TEST(ResumeStateTest, PersistentDataLoadersRoundTrip) {
  ScratchDir dir;
  at::Generator collator = at::detail::createCPUGenerator(5);
  RngExtras extras;
  extras.persistent_train_epoch = 2;
  extras.persistent_eval = true;
  for (uint64_t w = 0; w < 2; ++w) extras.eval_workers.push_back(at::detail::createCPUGenerator(20 + w).get_state());
  const std::string path = dir.file("rng_persistent.pt");
  std::ofstream(path, std::ios::binary) << rng_state_bytes(collator, extras);
  RngExtras loaded;
  load_rng_state(path, collator, &loaded);
  EXPECT_EQ(loaded.persistent_train_epoch, 2);
  EXPECT_TRUE(loaded.persistent_eval);
  ASSERT_EQ(loaded.eval_workers.size(), 2u);
  for (size_t w = 0; w < 2; ++w) EXPECT_TRUE(torch::equal(loaded.eval_workers[w], extras.eval_workers[w]));
  const std::string plain = dir.file("rng_plain.pt");
  std::ofstream(plain, std::ios::binary) << rng_state_bytes(collator);
  load_rng_state(plain, collator, &loaded);  // an older checkpoint, or one without persistent workers
  EXPECT_EQ(loaded.persistent_train_epoch, -1);
  EXPECT_FALSE(loaded.persistent_eval);
  EXPECT_TRUE(loaded.eval_workers.empty());
  torch::serialize::OutputArchive archive;
  archive.write("cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("persistent_eval", torch::tensor({int64_t{2}}, torch::kInt64));
  const std::string bad = dir.file("rng_bad_flag.pt");
  archive.save_to(bad);
  EXPECT_THAT([&] { load_rng_state(bad, std::nullopt, &loaded); },
              ThrowsMessage<InputError>(HasSubstr(bad + ": \"persistent_eval\": expected 0 or 1, got 2")));
}

}  // namespace
}  // namespace tcpp::trainer
