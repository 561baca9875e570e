// The Trainer's view of a dataset and its batch order: a seedable random sampler whose permutation is a pure
// function of (seed, epoch), as accelerate's SeedableRandomSampler, and the sequential eval order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tcpp/collators/data_collator.h"

namespace tcpp::trainer {

/// Random access to examples. The datasets module's Arrow Dataset is adapted to this. get() must be
/// deterministic and thread-compatible (const).
class TrainerDataset {
 public:
  virtual ~TrainerDataset() = default;
  virtual int64_t size() const = 0;
  virtual collators::Features get(int64_t index) const = 0;
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

/// Number of batches per epoch (len(dataloader)).
int64_t num_batches(int64_t num_examples, int64_t batch_size, bool drop_last);

/// Example indices of batch `batch_index` in `order` (a permutation or 0..n-1).
std::vector<int64_t> batch_indices(const std::vector<int64_t>& order, int64_t batch_size, int64_t batch_index);

}  // namespace tcpp::trainer
