// checkpoint-N folders: naming, listing, atomic commit (stage, fsync, rename), save_total_limit rotation and RNG
// state files (as transformers' Trainer._save_checkpoint / _rotate_checkpoints / get_last_checkpoint).
#include "tcpp/trainer/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/manifest.h"
#include "tcpp/core/strings.h"
#include "tcpp/trainer/torch_archive.h"
#include "tcpp/trainer/trainer_state.h"

namespace tcpp::trainer {
namespace fs = std::filesystem;
namespace {

void fsync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open to fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(path.string() + ": fsync failed: " + std::strerror(err));
}

void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) {
      fsync_tree(entry.path());
    } else if (entry.is_regular_file()) {
      fsync_file(entry.path());
    }
  }
  fsync_directory(dir.string());
}

std::optional<int64_t> checkpoint_step(const std::string& name) {
  if (!starts_with(name, kCheckpointPrefix)) return std::nullopt;
  const std::string digits = name.substr(std::strlen(kCheckpointPrefix));
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return parse_int(digits);
}

}  // namespace

std::vector<CheckpointEntry> list_checkpoints(const std::string& output_dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    if (!entry.is_directory()) continue;
    auto step = checkpoint_step(entry.path().filename().string());
    // A folder only gets its final name after everything in it was written and fsynced; requiring the state file
    // also ignores folders made by hand or by other tools.
    if (!step || !fs::exists(entry.path() / kTrainerStateFile)) continue;
    out.push_back({*step, entry.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::optional<std::string> get_last_checkpoint(const std::string& output_dir) {
  auto all = list_checkpoints(output_dir);
  if (all.empty()) return std::nullopt;
  return all.back().path;
}

std::string prepare_staging_dir(const std::string& output_dir, int64_t step) {
  const fs::path staging = fs::path(output_dir) / ("tmp-" + std::string(kCheckpointPrefix) + std::to_string(step));
  fs::remove_all(staging);
  fs::create_directories(staging);
  return staging.string();
}

std::string commit_checkpoint(const std::string& staging_dir, const std::string& output_dir, int64_t step) {
  write_manifest(staging_dir);  // sizes and hashes, checked before a resume trusts the folder
  fsync_tree(staging_dir);
  const fs::path final_dir = fs::path(output_dir) / (std::string(kCheckpointPrefix) + std::to_string(step));
  fs::path old_dir;
  if (fs::exists(final_dir)) {
    // rename() cannot replace a non-empty folder: move the old one aside first. A crash in between leaves the
    // complete new staging folder plus the old one under a name that resume ignores.
    old_dir = fs::path(output_dir) / ("old-" + std::string(kCheckpointPrefix) + std::to_string(step));
    fs::remove_all(old_dir);
    fs::rename(final_dir, old_dir);
  }
  fs::rename(staging_dir, final_dir);
  fsync_directory(output_dir);
  if (!old_dir.empty()) fs::remove_all(old_dir);
  // Staging folders of saves that a crash or kill interrupted are never resumed from: clear them away now that a
  // complete checkpoint exists.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(output_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && (starts_with(name, "tmp-" + std::string(kCheckpointPrefix)) ||
                                 starts_with(name, "old-" + std::string(kCheckpointPrefix)) ||
                                 starts_with(name, "deleting-" + std::string(kCheckpointPrefix))))
      fs::remove_all(entry.path(), ec);
  }
  return final_dir.string();
}

namespace {

// Renamed first (atomic), then deleted: a kill during the deletion leaves a folder resume never lists, not a
// half-deleted checkpoint-N that still looks complete.
void remove_checkpoint(const std::string& output_dir, const std::string& path) {
  const fs::path doomed = fs::path(output_dir) / ("deleting-" + fs::path(path).filename().string());
  fs::remove_all(doomed);
  fs::rename(path, doomed);
  fs::remove_all(doomed);
}

}  // namespace

std::vector<std::string> keep_only_best_checkpoint(const std::string& output_dir, const std::string& best_checkpoint) {
  std::vector<std::string> deleted;
  std::error_code ec;
  if (!fs::exists(best_checkpoint, ec)) return deleted;  // nothing to fall back on: delete nothing
  const fs::path best = fs::weakly_canonical(best_checkpoint);
  for (const auto& c : list_checkpoints(output_dir)) {
    if (fs::weakly_canonical(c.path) == best) continue;
    remove_checkpoint(output_dir, c.path);
    deleted.push_back(c.path);
  }
  return deleted;
}

std::vector<std::string> rotate_checkpoints(const std::string& output_dir, int64_t limit,
                                            const std::optional<std::string>& best_checkpoint) {
  std::vector<std::string> deleted;
  if (limit <= 0) return deleted;
  auto all = list_checkpoints(output_dir);
  if (static_cast<int64_t>(all.size()) <= limit) return deleted;
  std::optional<fs::path> best;
  if (best_checkpoint) best = fs::weakly_canonical(*best_checkpoint);
  const std::string newest = all.back().path;
  int64_t keep = limit;
  // HF keeps 2 when limit is 1 and the best checkpoint is not the newest.
  const bool best_listed = best && std::any_of(all.begin(), all.end(), [&](const auto& c) {
                             return fs::weakly_canonical(c.path) == *best;
                           });
  if (limit == 1 && best_listed && fs::weakly_canonical(newest) != *best) keep = 2;
  int64_t to_delete = static_cast<int64_t>(all.size()) - keep;
  for (const auto& c : all) {
    if (to_delete <= 0) break;
    if (c.path == newest || (best && fs::weakly_canonical(c.path) == *best)) continue;
    remove_checkpoint(output_dir, c.path);
    deleted.push_back(c.path);
    --to_delete;
  }
  return deleted;
}

std::string rng_state_file(int rank, int world_size) {
  return world_size > 1 ? "rng_state_" + std::to_string(rank) + ".pt" : std::string(kRngStateFile);
}

int saved_world_size(const std::string& dir, const std::string& extension) {
  std::error_code ec;
  int ranks = 0;
  const size_t ext = extension.size();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ends = name.size() > 10 + ext && name.compare(name.size() - ext, ext, extension) == 0;
    if (name.rfind("rng_state_", 0) == 0 && ends && name.find_first_not_of("0123456789", 10) == name.size() - ext)
      ++ranks;
  }
  if (ranks > 0) return ranks;
  return fs::exists(fs::path(dir) / ("rng_state" + extension), ec) ? 1 : 0;
}

std::string rng_state_bytes(const std::optional<at::Generator>& collator_generator, const RngExtras& extras) {
  torch::serialize::OutputArchive archive;
  at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle on the global generator
  archive.write("cpu", global.get_state());
  if (collator_generator) {
    at::Generator gen = *collator_generator;  // a handle: shares the collator's state
    archive.write("collator", gen.get_state());
    if (extras.collator_lookahead.defined()) archive.write("collator_lookahead", extras.collator_lookahead);
    for (size_t w = 0; w < extras.collator_workers.size(); ++w)
      archive.write("collator_worker_" + std::to_string(w), extras.collator_workers[w]);
    if (!extras.collator_workers.empty())
      archive.write("collator_worker_next", torch::tensor({extras.collator_worker_next}, torch::kInt64));
    for (size_t w = 0; w < extras.eval_workers.size(); ++w)
      archive.write("eval_worker_" + std::to_string(w), extras.eval_workers[w]);
  }
  if (extras.persistent_train_epoch >= 0)
    archive.write("persistent_train_epoch", torch::tensor({extras.persistent_train_epoch}, torch::kInt64));
  if (extras.persistent_eval) archive.write("persistent_eval", torch::tensor({int64_t{1}}, torch::kInt64));
  if (extras.sampler_epoch_start.defined()) {
    archive.write("sampler_epoch_start", extras.sampler_epoch_start);
    archive.write("sampler_epoch", torch::tensor({extras.sampler_epoch}, torch::kInt64));
  }
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void save_rng_state(const std::string& path, const std::optional<at::Generator>& collator_generator) {
  write_file_atomic(path, rng_state_bytes(collator_generator));
}

// Check a CPU generator state read from `path` (entry `key`) before at::Generator::set_state takes it. Its storage
// fits the record that holds its bytes: check_torch_archive saw to that before LibTorch read the file.
void check_cpu_generator_state(const torch::Tensor& state, const std::string& path, const std::string& key) {
  // What CPUGeneratorImpl::set_state reads (LibTorch 1.13, CPUGeneratorImplState{Legacy}): the mt19937 seed, `left`,
  // `seeded` and `next`, then 624 uint64 words of state; 5048 bytes (legacy) or 5056. set_state checks
  // 0 < left <= 624 and next <= 624, but each number drawn reads word `next` and moves it on until `left` runs out,
  // so next + left > 625 reads past the state array (inside LibTorch, unseen by ASan). Its tensor is also taken as
  // is: a view reaching past its storage (LibTorch's unpickler does not check) would be read out of bounds.
  constexpr int64_t kLegacyBytes = 5048, kBytes = 5056, kN = 624;
  auto bad = [&](const std::string& what) {
    throw InputError(path, "\"" + key + "\" generator state: " + what + " (not written by this program's Trainer?)");
  };
  if (state.scalar_type() != torch::kByte || state.dim() != 1 || !state.is_cpu()) bad("expected a 1-D uint8 CPU tensor");
  if (state.numel() != kLegacyBytes && state.numel() != kBytes)
    bad(std::to_string(state.numel()) + " bytes, expected " + std::to_string(kBytes));
  if (state.stride(0) != 1 || state.storage_offset() < 0 ||
      static_cast<uint64_t>(state.storage_offset()) + static_cast<uint64_t>(state.numel()) >
          static_cast<uint64_t>(state.storage().nbytes()))
    bad("its bytes reach past the stored data");
  const auto* bytes = state.data_ptr<uint8_t>();
  int32_t left = 0;
  uint64_t next = 0;
  std::memcpy(&left, bytes + 8, sizeof left);
  std::memcpy(&next, bytes + 16, sizeof next);
  if (left < 1 || left > kN || next > static_cast<uint64_t>(kN) || next + static_cast<uint64_t>(left) > kN + 1)
    bad("mt19937 position out of range (left " + std::to_string(left) + ", next " + std::to_string(next) + ")");
}


namespace {

// One int64 >= 0 read from `path` (entry `key`), inside its stored bytes (the view's offset comes from the file).
int64_t checked_int64(const torch::Tensor& t, const std::string& path, const std::string& key) {
  if (t.scalar_type() != torch::kInt64 || t.numel() != 1 || !t.is_cpu() || t.storage_offset() < 0 ||
      static_cast<uint64_t>(t.storage_offset() + 1) * 8 > t.storage().nbytes() || t.item<int64_t>() < 0)
    throw InputError(path, "\"" + key + "\": expected one int64 >= 0");
  return t.item<int64_t>();
}

}  // namespace

void load_rng_state(const std::string& path, const std::optional<at::Generator>& collator_generator,
                    RngExtras* extras) {
  if (extras != nullptr) *extras = RngExtras();
  try {
    check_torch_archive(path);  // LibTorch would trust the pickle's storage sizes over the records (F11)
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    torch::Tensor cpu;
    archive.read("cpu", cpu);
    check_cpu_generator_state(cpu, path, "cpu");
    at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle on the global generator
    global.set_state(cpu);
    if (collator_generator) {
      torch::Tensor state;
      if (!archive.try_read("collator", state))
        throw InputError(path, "missing \"collator\" generator state (saved with a collator without randomness?)");
      check_cpu_generator_state(state, path, "collator");
      torch::Tensor ahead;
      if (archive.try_read("collator_lookahead", ahead)) check_cpu_generator_state(ahead, path, "collator_lookahead");
      at::Generator gen = *collator_generator;
      gen.set_state(state);
      if (extras != nullptr && ahead.defined()) extras->collator_lookahead = ahead;
      // prefix0, prefix1, ...: generator states, each checked.
      auto read_states = [&](const std::string& prefix) {
        std::vector<torch::Tensor> states;
        while (true) {
          torch::Tensor state;  // a fresh one each time: try_read into a defined tensor overwrites it in place
          const std::string key = prefix + std::to_string(states.size());
          if (!archive.try_read(key, state)) break;
          check_cpu_generator_state(state, path, key);
          states.push_back(state);
        }
        return states;
      };
      std::vector<torch::Tensor> workers = read_states("collator_worker_");
      std::vector<torch::Tensor> eval_workers = read_states("eval_worker_");
      if (extras != nullptr) extras->eval_workers = std::move(eval_workers);
      torch::Tensor next;
      if (archive.try_read("collator_worker_next", next) != !workers.empty())
        throw InputError(path, "\"collator_worker_<w>\" and \"collator_worker_next\" come together");
      if (!workers.empty()) {
        const int64_t turn = checked_int64(next, path, "collator_worker_next");
        if (turn >= static_cast<int64_t>(workers.size()))
          throw InputError(path, "\"collator_worker_next\": " + std::to_string(turn) + " names no worker (" +
                                     std::to_string(workers.size()) + " saved)");
        if (extras != nullptr) {
          extras->collator_workers = std::move(workers);
          extras->collator_worker_next = turn;
        }
      }
    }
    torch::Tensor flag;
    if (archive.try_read("persistent_train_epoch", flag)) {
      const int64_t epoch = checked_int64(flag, path, "persistent_train_epoch");
      if (extras != nullptr) extras->persistent_train_epoch = epoch;
    }
    torch::Tensor eval_flag;
    if (archive.try_read("persistent_eval", eval_flag)) {
      const int64_t on = checked_int64(eval_flag, path, "persistent_eval");
      if (on > 1) throw InputError(path, "\"persistent_eval\": expected 0 or 1, got " + std::to_string(on));
      if (extras != nullptr) extras->persistent_eval = on == 1;
    }
    // (Earlier versions' group_by_length checkpoints also hold "sampler", a generator of their samplers' own: the
    // epoch's start is all a resume needs.)
    torch::Tensor sampler_start, sampler_epoch;
    const bool has_start = archive.try_read("sampler_epoch_start", sampler_start);
    const bool has_epoch = archive.try_read("sampler_epoch", sampler_epoch);
    if (has_start != has_epoch)
      throw InputError(path, "\"sampler_epoch_start\" and \"sampler_epoch\" come together");
    if (has_start) {
      check_cpu_generator_state(sampler_start, path, "sampler_epoch_start");
      const int64_t epoch = checked_int64(sampler_epoch, path, "sampler_epoch");
      if (extras != nullptr) {
        extras->sampler_epoch_start = sampler_start;
        extras->sampler_epoch = epoch;
      }
    }
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read RNG state: ") + e.what_without_backtrace());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // LibTorch's TorchScript importer reports a garbled archive as runtime_error
    throw InputError(path, std::string("cannot read RNG state: ") + e.what());
  }
}

}  // namespace tcpp::trainer
