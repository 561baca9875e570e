// The Trainer's view of a dataset and its batch order: a seedable random sampler whose permutation is a pure
// function of (seed, epoch), as accelerate's SeedableRandomSampler, and the sequential eval order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <ATen/core/Generator.h>

#include "tcpp/collators/data_collator.h"

namespace tcpp::trainer {

/// Random access to examples. The datasets module's Arrow Dataset is adapted to this. get() must be
/// deterministic and thread-compatible (const).
class TrainerDataset {
 public:
  virtual ~TrainerDataset() = default;
  virtual int64_t size() const = 0;
  virtual collators::Features get(int64_t index) const = 0;
  /// Length of example `index` for group_by_length: the scalar column `length_column` when given and present
  /// (HF's length_column_name), else len(input_ids). Override when it can be read without decoding the example.
  virtual int64_t length(int64_t index, const std::string& length_column = "") const;
};

/// A dataset read as a stream (HF's IterableDataset, run_clm --streaming): no length, no random access. Each epoch
/// is one pass, whose order may depend on the epoch (e.g. a shuffle buffer seeded by it).
class TrainerIterableDataset {
 public:
  virtual ~TrainerIterableDataset() = default;
  /// Call fn with each example of `epoch`'s pass in order until fn returns false or the stream ends.
  virtual void for_each(int64_t epoch, const std::function<bool(collators::Features&&)>& fn) const = 0;
};

/// Reads one pass of a TrainerIterableDataset on a background thread into a bounded queue and hands out this
/// rank's batches: consecutive global batches of batch_size * world examples, of which rank r keeps the r-th
/// slice (HF's IterableDatasetShard). The last, incomplete global batch is kept by a single process (unless
/// drop_last) and dropped under data parallelism, so every rank takes the same number of steps.
class StreamBatcher {
 public:
  StreamBatcher(const TrainerIterableDataset& dataset, int64_t epoch, int64_t batch_size, int world, int rank,
                bool drop_last, int64_t prefetch_batches = 4);
  ~StreamBatcher();  // stops the reader thread
  StreamBatcher(const StreamBatcher&) = delete;
  StreamBatcher& operator=(const StreamBatcher&) = delete;
  /// This rank's next batch, or nullopt at the end of the pass; rethrows the reader's error.
  std::optional<std::vector<collators::Features>> next();

 private:
  int64_t batch_size_;
  int world_;
  int rank_;
  bool drop_last_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<collators::Features> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread reader_;
};

/// A collate function and the generator it draws from, if any: the collator's own, or one dataloader worker's.
struct CollateStream {
  collators::CollateFn collate;
  std::optional<at::Generator> generator;
};

/// Reads and collates a map-style epoch's batches ahead of the training loop (dataloader_num_workers): worker threads
/// read the examples of upcoming batches in parallel, then collate them one at a time in batch order, so a collator
/// that draws random numbers (MLM masking) makes exactly the draws it makes without workers. At most `capacity`
/// batches are read ahead. The collator generator's state after each batch travels with it, and rewind() puts the
/// generator back to its state after the last batch handed out: evaluation, checkpoints and the end of training
/// then see the state a loop without workers would have (exact resume, same eval masks).
/// With several streams (HF's worker processes, each with a generator of its own), batch k is collated by stream
/// (first_stream + k) % streams, as torch's DataLoader deals batches to its workers in turn.
class BatchPrefetcher {
 public:
  /// `batches` are the example indices of the batches to hand out, in order. `dataset` must outlive this object;
  /// `generator` is the collator's (a handle sharing its state), if it has one. No thread starts before next().
  BatchPrefetcher(const TrainerDataset& dataset, std::vector<std::vector<int64_t>> batches, collators::CollateFn collate,
                  std::optional<at::Generator> generator, int num_workers, int64_t capacity);
  /// The same with the batches dealt to `streams` in turn, batch 0 to streams[first_stream].
  BatchPrefetcher(const TrainerDataset& dataset, std::vector<std::vector<int64_t>> batches,
                  std::vector<CollateStream> streams, size_t first_stream, int num_workers, int64_t capacity);
  ~BatchPrefetcher();  // rewinds
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;
  /// The next batch (CPU tensors), or nullopt after the last one; rethrows the error met reading or collating it.
  std::optional<models::ModelInputs> next();
  /// Stop the workers, drop the batches read ahead and restore the generator as it was after the last batch
  /// handed out. A no-op when nothing was read since the last rewind, so draws made in between (an evaluation)
  /// are kept. The next call to next() starts reading again from the generator's state then.
  void rewind();
  /// The collator generator's state that the next batch handed out was (or will be) collated from: after the last
  /// batch handed out, or, with nothing read ahead, the generator's state now. Undefined without a generator.
  /// With several streams: the first stream's.
  torch::Tensor consumed_generator_state();
  /// consumed_generator_state() of every stream, in order.
  std::vector<torch::Tensor> consumed_generator_states();
  /// The stream that collates the next batch handed out.
  size_t next_stream() const { return (first_stream_ + static_cast<size_t>(consumed_)) % streams_.size(); }

 private:
  struct Item {
    models::ModelInputs batch;
    size_t stream = 0;
    torch::Tensor generator_state;  // the stream's generator after this batch; undefined without one
    std::exception_ptr error;
  };
  void start();
  void work();

  const TrainerDataset& dataset_;
  std::vector<std::vector<int64_t>> batches_;
  std::vector<CollateStream> streams_;
  size_t first_stream_;
  int num_workers_;
  int64_t capacity_;
  // each stream's generator state after the last batch handed out (set when reading starts)
  std::vector<torch::Tensor> consumed_states_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::map<int64_t, Item> ready_;
  int64_t consumed_ = 0;       // batches handed out
  int64_t next_to_read_ = 0;   // the next batch a worker takes
  int64_t next_to_collate_ = 0;
  bool stop_ = false;
};

/// An in-memory dataset (tests, small corpora).
class VectorDataset : public TrainerDataset {
 public:
  explicit VectorDataset(std::vector<collators::Features> examples) : examples_(std::move(examples)) {}
  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  collators::Features get(int64_t index) const override { return examples_.at(static_cast<size_t>(index)); }

 private:
  std::vector<collators::Features> examples_;
};

/// torch.randperm(n) from a generator seeded with seed + epoch (SeedableRandomSampler's order for that epoch).
std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, int64_t epoch);

/// HF's get_length_grouped_indices: a random permutation drawn from `generator`, cut into megabatches of
/// min(n / (4 * batch_size), 50) * batch_size (at least batch_size), each sorted by length, longest first, with the
/// longest example of all moved to the front.
std::vector<int64_t> length_grouped_indices(const std::vector<int64_t>& lengths, int64_t batch_size,
                                            at::Generator& generator);

/// What creating a DataLoader iterator draws (its base seed, one int64 in [0, 2^63)) from `generator`: HF's global
/// one, which every epoch's and every evaluation's iterator draws from, as dropout does. Returns the base seed.
int64_t draw_dataloader_base_seed(at::Generator& generator);

/// The seeds of the global generators of a DataLoader iterator's `num_workers` worker processes: torch seeds worker
/// w with base_seed + w; HF's training dataloader (worker_init_fn=seed_worker) then reseeds it with
/// num_workers * rank + (base_seed + w) % 2^32. An unseeded MLM collator in a worker draws from that generator.
std::vector<uint64_t> dataloader_worker_seeds(int64_t base_seed, int num_workers, int rank, bool training);

/// One iteration of a DataLoader over HF's LengthGroupedSampler without a generator of its own: the iterator's base
/// seed (one int64) drawn from `generator` (HF: the global one; stored in *base_seed when given), then
/// get_length_grouped_indices from it.
std::vector<int64_t> next_length_grouped_order(const std::vector<int64_t>& lengths, int64_t batch_size,
                                               at::Generator& generator, int64_t* base_seed = nullptr);

/// A generator seeded with `seed` (as Trainer.__init__ seeds the global one; data_seed plays no part) after
/// `epochs` such iterations over n examples (a base seed and a permutation each): what HF's length-grouped sampler
/// draws from at epoch `epochs` when nothing else drew from the global generator meanwhile.
at::Generator length_grouped_generator(uint64_t seed, int64_t n, int64_t epochs);

/// The order HF's LengthGroupedSampler gives epoch `epoch` (batch_size = train_batch_size * GA) when only the
/// epochs' samplers draw from the global generator: next_length_grouped_order from length_grouped_generator.
std::vector<int64_t> length_grouped_permutation(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                uint64_t seed, int64_t epoch);

/// Number of batches per epoch (len(dataloader)).
int64_t num_batches(int64_t num_examples, int64_t batch_size, bool drop_last);

/// Example indices of batch `batch_index` in `order` (a permutation or 0..n-1).
std::vector<int64_t> batch_indices(const std::vector<int64_t>& order, int64_t batch_size, int64_t batch_index);

/// The batches process `rank` of `world` gets, as accelerate's BatchSamplerShard (split_batches=False,
/// even_batches=True) deals them: `order` cut into batches of batch_size (the last one partial unless drop_last),
/// batch i going to rank i % world. Without drop_last every rank gets the same number of full batches: the
/// missing ones are filled by wrapping around to the start of `order` (the duplicates that evaluation's
/// gather_for_metrics drops). With drop_last an incomplete last round is dropped. One process: the plain batches.
std::vector<std::vector<int64_t>> shard_batches(const std::vector<int64_t>& order, int64_t batch_size, int world,
                                                int rank, bool drop_last);

/// How many batches each rank gets from shard_batches (len of the sharded dataloader).
int64_t sharded_num_batches(int64_t num_examples, int64_t batch_size, int world, bool drop_last);

}  // namespace tcpp::trainer
