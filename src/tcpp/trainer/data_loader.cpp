// The Trainer's view of a dataset and its batch order: a seedable random sampler whose permutation is a pure
// function of (seed, epoch), as accelerate's SeedableRandomSampler, and the sequential eval order.
#include "tcpp/trainer/data_loader.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace tcpp::trainer {

int64_t TrainerDataset::length(int64_t index) const {
  const auto example = get(index);
  if (auto it = example.scalars.find("length"); it != example.scalars.end()) return it->second;
  auto it = example.columns.find("input_ids");
  return it == example.columns.end() ? 0 : static_cast<int64_t>(it->second.size());
}

std::vector<int64_t> length_grouped_permutation(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                uint64_t seed, int64_t epoch) {
  const auto n = static_cast<int64_t>(lengths.size());
  if (n == 0) return {};
  const int64_t mult = std::max<int64_t>(std::min<int64_t>(n / (batch_size * 4), 50), 1);
  const int64_t mega = mult * batch_size;
  auto indices = random_permutation(n, seed, epoch);
  std::vector<std::vector<int64_t>> megabatches;
  for (int64_t i = 0; i < n; i += mega)
    megabatches.emplace_back(indices.begin() + i, indices.begin() + std::min(n, i + mega));
  // Python's sorted(..., reverse=True) is stable and keeps equal lengths in their original order.
  for (auto& m : megabatches)
    std::stable_sort(m.begin(), m.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  size_t max_idx = 0;  // torch.argmax: the first maximum
  for (size_t i = 1; i < megabatches.size(); ++i)
    if (lengths[megabatches[i][0]] > lengths[megabatches[max_idx][0]]) max_idx = i;
  std::swap(megabatches[0][0], megabatches[max_idx][0]);
  std::vector<int64_t> out;
  out.reserve(lengths.size());
  for (const auto& m : megabatches) out.insert(out.end(), m.begin(), m.end());
  return out;
}

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
