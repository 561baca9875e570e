// The Trainer's view of a dataset and its batch order: a seedable random sampler whose permutation is a pure
// function of (seed, epoch), as accelerate's SeedableRandomSampler, and the sequential eval order.
#include "tcpp/trainer/data_loader.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace tcpp::trainer {

std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  auto gen = at::detail::createCPUGenerator(seed + static_cast<uint64_t>(epoch));
  auto perm = torch::randperm(n, gen, torch::kInt64);
  return std::vector<int64_t>(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
}

int64_t num_batches(int64_t num_examples, int64_t batch_size, bool drop_last) {
  return drop_last ? num_examples / batch_size : (num_examples + batch_size - 1) / batch_size;
}

std::vector<int64_t> batch_indices(const std::vector<int64_t>& order, int64_t batch_size, int64_t batch_index) {
  const auto n = static_cast<int64_t>(order.size());
  const int64_t begin = std::min(n, batch_index * batch_size);
  const int64_t end = std::min(n, begin + batch_size);
  return std::vector<int64_t>(order.begin() + begin, order.begin() + end);
}

}  // namespace tcpp::trainer
