// The Trainer's view of a dataset and its batch order: a seedable random sampler whose permutation is a pure
// function of (seed, epoch), as accelerate's SeedableRandomSampler, and the sequential eval order.
#include "tcpp/trainer/data_loader.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <stdexcept>

namespace tcpp::trainer {

int64_t TrainerDataset::length(int64_t index, const std::string& length_column) const {
  const auto example = get(index);
  if (!length_column.empty())
    if (auto it = example.scalars.find(length_column); it != example.scalars.end()) return it->second;
  auto it = example.columns.find("input_ids");
  return it == example.columns.end() ? 0 : static_cast<int64_t>(it->second.size());
}

std::vector<int64_t> length_grouped_indices(const std::vector<int64_t>& lengths, int64_t batch_size,
                                            at::Generator& generator) {
  const auto n = static_cast<int64_t>(lengths.size());
  if (n == 0) return {};
  const int64_t mult = std::max<int64_t>(std::min<int64_t>(n / (batch_size * 4), 50), 1);
  const int64_t mega = mult * batch_size;
  auto perm = torch::randperm(n, generator, torch::kInt64);
  std::vector<int64_t> indices(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
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

int64_t draw_dataloader_base_seed(at::Generator& generator) {
  return torch::empty({}, torch::kInt64).random_(generator).item<int64_t>();
}

std::vector<uint64_t> dataloader_worker_seeds(int64_t base_seed, int num_workers, int rank, bool training) {
  std::vector<uint64_t> seeds;
  for (int w = 0; w < num_workers; ++w) {
    const uint64_t initial = static_cast<uint64_t>(base_seed) + static_cast<uint64_t>(w);  // torch's _worker_loop
    seeds.push_back(training ? static_cast<uint64_t>(num_workers) * static_cast<uint64_t>(rank) + initial % (1ULL << 32)
                             : initial);
  }
  return seeds;
}

std::vector<int64_t> next_length_grouped_order(const std::vector<int64_t>& lengths, int64_t batch_size,
                                               at::Generator& generator, int64_t* base_seed) {
  const int64_t base = draw_dataloader_base_seed(generator);
  if (base_seed != nullptr) *base_seed = base;
  return length_grouped_indices(lengths, batch_size, generator);
}

at::Generator length_grouped_generator(uint64_t seed, int64_t n, int64_t epochs) {
  auto gen = at::detail::createCPUGenerator(seed);
  for (int64_t e = 0; e < epochs; ++e) {  // the earlier epochs' draws: a base seed, then a permutation
    draw_dataloader_base_seed(gen);
    torch::randperm(n, gen, torch::kInt64);
  }
  return gen;
}

std::vector<int64_t> length_grouped_permutation(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                uint64_t seed, int64_t epoch) {
  auto gen = length_grouped_generator(seed, static_cast<int64_t>(lengths.size()), epoch);
  return next_length_grouped_order(lengths, batch_size, gen);
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

std::vector<std::vector<int64_t>> shard_batches(const std::vector<int64_t>& order, int64_t batch_size, int world,
                                                int rank, bool drop_last) {
  const int64_t W = world;
  const auto n = static_cast<int64_t>(order.size());
  if (W == 1) {  // accelerate does not shard for one process: the plain batches, the last one partial
    std::vector<std::vector<int64_t>> out;
    for (int64_t b = 0; b < num_batches(n, batch_size, drop_last); ++b) out.push_back(batch_indices(order, batch_size, b));
    return out;
  }
  const int64_t num_full = n / batch_size;
  const int64_t num = drop_last ? num_full : num_batches(n, batch_size, false);
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> initial_data;  // the first `world` batches, to wrap around to
  std::vector<int64_t> to_yield;
  std::vector<int64_t> batch;
  int64_t idx = -1;
  for (int64_t i = 0; i < num; ++i) {
    idx = i;
    batch = batch_indices(order, batch_size, i);
    if (!drop_last && i < W) initial_data.insert(initial_data.end(), batch.begin(), batch.end());
    if (i % W == rank) to_yield = batch;
    // A round is handed out once its last batch is known to be full.
    if (i % W == W - 1 && static_cast<int64_t>(batch.size()) == batch_size) {
      out.push_back(to_yield);
      to_yield.clear();
    }
  }
  if (drop_last || initial_data.empty()) return out;
  if (static_cast<int64_t>(to_yield.size()) == batch_size) out.push_back(to_yield);
  // Tiny datasets: repeat the data until one full round can be cut from it.
  while (static_cast<int64_t>(initial_data.size()) < W * batch_size) {
    const std::vector<int64_t> copy = initial_data;
    initial_data.insert(initial_data.end(), copy.begin(), copy.end());
  }
  if (static_cast<int64_t>(batch.size()) == batch_size) {
    batch.clear();
    idx += 1;
  }
  int64_t cycle = 0;
  while (idx % W != 0 || !batch.empty()) {
    const int64_t end = std::min<int64_t>(cycle + batch_size - static_cast<int64_t>(batch.size()),
                                          static_cast<int64_t>(initial_data.size()));
    batch.insert(batch.end(), initial_data.begin() + cycle, initial_data.begin() + end);
    if (idx % W == rank) out.push_back(batch);
    cycle = end;
    batch.clear();
    idx += 1;
  }
  return out;
}

StreamBatcher::StreamBatcher(const TrainerIterableDataset& dataset, int64_t epoch, int64_t batch_size, int world,
                             int rank, bool drop_last, int64_t prefetch_batches)
    : batch_size_(batch_size),
      world_(world),
      rank_(rank),
      drop_last_(drop_last),
      capacity_(static_cast<size_t>(std::max<int64_t>(prefetch_batches, 1) * batch_size * world)) {
  reader_ = std::thread([this, &dataset, epoch] {
    try {
      dataset.for_each(epoch, [this](collators::Features&& f) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return false;
        queue_.push_back(std::move(f));
        cv_.notify_all();
        return true;
      });
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    cv_.notify_all();
  });
}

StreamBatcher::~StreamBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }
  reader_.join();
}

std::optional<std::vector<collators::Features>> StreamBatcher::next() {
  const auto global = static_cast<size_t>(batch_size_ * world_);
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return queue_.size() >= global || done_; });
  if (error_) std::rethrow_exception(error_);
  const size_t available = std::min(queue_.size(), global);
  // A complete global batch, or what a single process may keep of the last one.
  const bool keep = available == global || (world_ == 1 && available > 0 && !drop_last_);
  if (!keep) return std::nullopt;
  std::vector<collators::Features> mine;
  const size_t begin = static_cast<size_t>(rank_ * batch_size_);
  for (size_t i = 0; i < available; ++i) {
    if (i >= begin && i < begin + static_cast<size_t>(batch_size_)) mine.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  cv_.notify_all();
  return mine;
}

namespace {

// A generator's state as a tensor; the lock keeps a collator drawing on another thread out meanwhile.
torch::Tensor generator_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

}  // namespace

BatchPrefetcher::BatchPrefetcher(const TrainerDataset& dataset, std::vector<std::vector<int64_t>> batches,
                                 collators::CollateFn collate, std::optional<at::Generator> generator,
                                 int num_workers, int64_t capacity)
    : BatchPrefetcher(dataset, std::move(batches), {CollateStream{std::move(collate), std::move(generator)}}, 0,
                      num_workers, capacity) {}

BatchPrefetcher::BatchPrefetcher(const TrainerDataset& dataset, std::vector<std::vector<int64_t>> batches,
                                 std::vector<CollateStream> streams, size_t first_stream, int num_workers,
                                 int64_t capacity)
    : dataset_(dataset),
      batches_(std::move(batches)),
      streams_(std::move(streams)),
      first_stream_(streams_.empty() ? 0 : first_stream % streams_.size()),
      num_workers_(std::max(num_workers, 1)),
      capacity_(std::max<int64_t>(capacity, 1)),
      consumed_states_(streams_.size()) {
  if (streams_.empty()) throw std::invalid_argument("BatchPrefetcher needs at least one collate stream");
}

BatchPrefetcher::~BatchPrefetcher() {
  try {
    rewind();
  } catch (...) {  // restoring a generator state it took itself does not fail; never throw from a destructor
  }
}

void BatchPrefetcher::start() {
  // Nothing is read ahead yet: the generators' states now are the states after the last batch handed out (or
  // after whatever drew from them since the last rewind, e.g. an evaluation).
  for (size_t s = 0; s < streams_.size(); ++s)
    if (streams_[s].generator) consumed_states_[s] = generator_state(*streams_[s].generator);
  stop_ = false;
  next_to_read_ = next_to_collate_ = consumed_;
  for (int w = 0; w < num_workers_; ++w) workers_.emplace_back([this] { work(); });
}

void BatchPrefetcher::work() {
  const auto n = static_cast<int64_t>(batches_.size());
  while (true) {
    int64_t k;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || next_to_read_ >= n || next_to_read_ < consumed_ + capacity_; });
      if (stop_ || next_to_read_ >= n) return;
      k = next_to_read_++;
    }
    Item item;
    item.stream = (first_stream_ + static_cast<size_t>(k)) % streams_.size();
    std::vector<collators::Features> features;
    try {  // reading runs in parallel
      features.reserve(batches_[static_cast<size_t>(k)].size());
      for (int64_t i : batches_[static_cast<size_t>(k)]) features.push_back(dataset_.get(i));
    } catch (...) {
      item.error = std::current_exception();
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || next_to_collate_ == k; });
      if (stop_) return;
    }
    // Batch k's turn: no other worker collates (or touches a generator) until next_to_collate_ moves on.
    if (!item.error) {
      try {
        const CollateStream& stream = streams_[item.stream];
        item.batch = stream.collate(features);
        if (stream.generator) item.generator_state = generator_state(*stream.generator);
      } catch (...) {
        item.error = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.emplace(k, std::move(item));
    ++next_to_collate_;
    cv_.notify_all();
  }
}

std::optional<models::ModelInputs> BatchPrefetcher::next() {
  if (consumed_ >= static_cast<int64_t>(batches_.size())) return std::nullopt;
  if (workers_.empty()) start();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return ready_.count(consumed_) > 0; });
  auto node = ready_.extract(consumed_);
  ++consumed_;
  cv_.notify_all();
  lock.unlock();
  Item& item = node.mapped();
  if (item.error) std::rethrow_exception(item.error);
  if (item.generator_state.defined()) consumed_states_[item.stream] = item.generator_state;
  return std::move(item.batch);
}

void BatchPrefetcher::rewind() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }
  if (workers_.empty()) return;  // nothing was read ahead since the last rewind: the generators are as they should be
  for (auto& w : workers_) w.join();
  workers_.clear();
  ready_.clear();
  for (size_t s = 0; s < streams_.size(); ++s) {
    if (!streams_[s].generator) continue;
    at::Generator gen = *streams_[s].generator;
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(consumed_states_[s]);
  }
}

torch::Tensor BatchPrefetcher::consumed_generator_state() { return consumed_generator_states().front(); }

std::vector<torch::Tensor> BatchPrefetcher::consumed_generator_states() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!workers_.empty()) return consumed_states_;
  }
  std::vector<torch::Tensor> states(streams_.size());
  for (size_t s = 0; s < streams_.size(); ++s)
    if (streams_[s].generator) states[s] = generator_state(*streams_[s].generator);
  return states;
}

int64_t sharded_num_batches(int64_t num_examples, int64_t batch_size, int world, bool drop_last) {
  const int64_t n = num_batches(num_examples, batch_size, drop_last);
  if (n % world == 0) return n / world;
  return drop_last ? n / world : n / world + 1;
}

}  // namespace tcpp::trainer
