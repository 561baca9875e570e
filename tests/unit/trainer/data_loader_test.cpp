// The sharded batch order of data-parallel training, against accelerate's BatchSamplerShard (values from its
// documented behaviour: round-robin batches, even_batches wrap-around, drop_last).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <set>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/collators/language_modeling.h"
#include "tcpp/trainer/data_loader.h"

namespace tcpp::trainer {
namespace {

using Batches = std::vector<std::vector<int64_t>>;

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(ShardBatchesTest, RoundMultipleOfTotalBatch) {
  EXPECT_EQ(shard_batches(range(24), 3, 2, 0, false), (Batches{{0, 1, 2}, {6, 7, 8}, {12, 13, 14}, {18, 19, 20}}));
  EXPECT_EQ(shard_batches(range(24), 3, 2, 1, false), (Batches{{3, 4, 5}, {9, 10, 11}, {15, 16, 17}, {21, 22, 23}}));
}

TEST(ShardBatchesTest, OddNumberOfBatchesWrapsAroundToTheStart) {
  EXPECT_EQ(shard_batches(range(21), 3, 2, 0, false), (Batches{{0, 1, 2}, {6, 7, 8}, {12, 13, 14}, {18, 19, 20}}));
  EXPECT_EQ(shard_batches(range(21), 3, 2, 1, false), (Batches{{3, 4, 5}, {9, 10, 11}, {15, 16, 17}, {0, 1, 2}}));
  EXPECT_EQ(shard_batches(range(21), 3, 2, 0, true), (Batches{{0, 1, 2}, {6, 7, 8}, {12, 13, 14}}));
  EXPECT_EQ(shard_batches(range(21), 3, 2, 1, true), (Batches{{3, 4, 5}, {9, 10, 11}, {15, 16, 17}}));
}

TEST(ShardBatchesTest, PartialLastBatchIsCompletedFromTheStart) {
  EXPECT_EQ(shard_batches(range(22), 3, 2, 1, false), (Batches{{3, 4, 5}, {9, 10, 11}, {15, 16, 17}, {21, 0, 1}}));
  EXPECT_EQ(shard_batches(range(20), 3, 2, 0, false), (Batches{{0, 1, 2}, {6, 7, 8}, {12, 13, 14}, {18, 19, 0}}));
  EXPECT_EQ(shard_batches(range(20), 3, 2, 1, false), (Batches{{3, 4, 5}, {9, 10, 11}, {15, 16, 17}, {1, 2, 3}}));
}

TEST(ShardBatchesTest, TinyDatasetRepeatsItself) {
  EXPECT_EQ(shard_batches(range(2), 3, 2, 0, false), (Batches{{0, 1, 0}}));
  EXPECT_EQ(shard_batches(range(2), 3, 2, 1, false), (Batches{{1, 0, 1}}));
  EXPECT_TRUE(shard_batches(range(2), 3, 2, 0, true).empty());
}

TEST(ShardBatchesTest, OneProcessIsThePlainBatchOrder) {
  const auto order = random_permutation(10, 42, 0);
  const auto shards = shard_batches(order, 4, 1, 0, false);
  ASSERT_EQ(shards.size(), 3u);
  for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(shards[static_cast<size_t>(b)], batch_indices(order, 4, b));
}

TEST(ShardBatchesTest, ShardsCoverTheEpochOnceAndAgreeWithTheirCount) {
  for (int world : {2, 3, 4}) {
    for (int64_t n : {1, 7, 23, 64, 65}) {
      for (bool drop_last : {false, true}) {
        const auto order = random_permutation(n, 7, 1);
        std::multiset<int64_t> seen;
        for (int r = 0; r < world; ++r) {
          const auto shard = shard_batches(order, 4, world, r, drop_last);
          EXPECT_EQ(static_cast<int64_t>(shard.size()), sharded_num_batches(n, 4, world, drop_last))
              << "n=" << n << " world=" << world << " drop_last=" << drop_last;
          for (const auto& b : shard) {
            EXPECT_EQ(b.size(), 4u);
            seen.insert(b.begin(), b.end());
          }
        }
        if (!drop_last) {
          for (int64_t i = 0; i < n; ++i) EXPECT_GE(seen.count(i), 1u) << "example " << i << " never trained on";
        } else {
          for (int64_t i = 0; i < n; ++i) EXPECT_LE(seen.count(i), 1u);
        }
      }
    }
  }
}

// 20 examples of 5 token ids; reading example `fail_at` throws.
class IdsDataset : public TrainerDataset {
 public:
  explicit IdsDataset(int64_t fail_at = -1) : fail_at_(fail_at) {}
  int64_t size() const override { return 20; }
  collators::Features get(int64_t index) const override {
    if (index == fail_at_) throw std::runtime_error("example " + std::to_string(index) + " is unreadable");
    collators::Features f;
    for (int64_t t = 0; t < 5; ++t) f.columns["input_ids"].push_back(1 + (index * 5 + t) % 14);
    return f;
  }

 private:
  int64_t fail_at_;
};

collators::DataCollator masking_collator() {
  collators::LanguageModelingOptions lm;
  lm.pad_token_id = 0;
  lm.mask_token_id = 15;
  lm.vocab_size = 16;
  lm.mlm_probability = 0.4;
  lm.seed = 42;
  return collators::DataCollatorForLanguageModeling(lm);
}

std::vector<std::vector<int64_t>> batches_of(const std::vector<int64_t>& order, int64_t batch_size) {
  return shard_batches(order, batch_size, 1, 0, /*drop_last=*/false);
}

// What a loop without workers collates, batch after batch, from a fresh collator.
std::vector<models::ModelInputs> collate_in_order(const TrainerDataset& data, const std::vector<std::vector<int64_t>>& batches) {
  auto collator = masking_collator();
  std::vector<models::ModelInputs> out;
  for (const auto& b : batches) {
    std::vector<collators::Features> f;
    for (int64_t i : b) f.push_back(data.get(i));
    out.push_back(collator.collate(f));
  }
  return out;
}

void expect_same_batch(const models::ModelInputs& a, const models::ModelInputs& b, size_t k) {
  EXPECT_TRUE(torch::equal(a.input_ids, b.input_ids)) << "batch " << k;
  EXPECT_TRUE(torch::equal(a.labels, b.labels)) << "batch " << k;
}

TEST(BatchPrefetcherTest, WorkersHandOutTheBatchesAndMasksOfALoopWithoutWorkers) {
  IdsDataset data;
  const auto batches = batches_of(random_permutation(20, 3, 0), 3);  // 7 batches, the last one of 2
  const auto expected = collate_in_order(data, batches);
  for (int workers : {1, 2, 4}) {
    auto collator = masking_collator();
    BatchPrefetcher prefetcher(data, batches, collator.collate, collator.generator, workers, /*capacity=*/2 * workers);
    for (size_t k = 0; k < batches.size(); ++k) {
      auto batch = prefetcher.next();
      ASSERT_TRUE(batch.has_value()) << "batch " << k;
      expect_same_batch(*batch, expected[k], k);
    }
    EXPECT_FALSE(prefetcher.next().has_value());
  }
}

TEST(BatchPrefetcherTest, RewindRestoresTheGeneratorAsOfTheLastBatchHandedOut) {
  IdsDataset data;
  const auto batches = batches_of(random_permutation(20, 3, 0), 2);
  auto reference = masking_collator();  // without workers: 3 batches, then the state a checkpoint would save
  for (size_t k = 0; k < 3; ++k) {
    std::vector<collators::Features> f;
    for (int64_t i : batches[k]) f.push_back(data.get(i));
    reference.collate(f);
  }
  const torch::Tensor state_after_3 = reference.generator->get_state();

  auto collator = masking_collator();
  BatchPrefetcher prefetcher(data, batches, collator.collate, collator.generator, 2, /*capacity=*/6);
  for (int k = 0; k < 3; ++k) prefetcher.next();
  prefetcher.rewind();  // workers had read (and masked) up to 6 batches ahead
  EXPECT_TRUE(torch::equal(collator.generator->get_state(), state_after_3));
  prefetcher.rewind();  // a second rewind changes nothing
  EXPECT_TRUE(torch::equal(collator.generator->get_state(), state_after_3));
  // Draws made between a rewind and the next batch (an evaluation) are kept, and reading goes on after them.
  at::Generator gen = *collator.generator;
  at::Generator ref = *reference.generator;
  torch::rand({7}, gen);
  torch::rand({7}, ref);
  prefetcher.rewind();
  const auto expected_rest = [&] {
    std::vector<models::ModelInputs> out;
    for (size_t k = 3; k < batches.size(); ++k) {
      std::vector<collators::Features> f;
      for (int64_t i : batches[k]) f.push_back(data.get(i));
      out.push_back(reference.collate(f));
    }
    return out;
  }();
  for (size_t k = 0; k < expected_rest.size(); ++k) expect_same_batch(*prefetcher.next(), expected_rest[k], k + 3);
}

TEST(BatchPrefetcherTest, AnUnreadableExampleIsRethrownAtItsBatch) {
  IdsDataset data(/*fail_at=*/9);
  std::vector<std::vector<int64_t>> batches = {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9, 10, 11}, {12, 13, 14}};
  auto collator = masking_collator();
  BatchPrefetcher prefetcher(data, batches, collator.collate, collator.generator, 3, /*capacity=*/5);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(prefetcher.next().has_value());
  EXPECT_THAT([&] { prefetcher.next(); },
              ::testing::ThrowsMessage<std::runtime_error>(::testing::HasSubstr("example 9 is unreadable")));
}

// HF's dataloader workers' generators, against what torch 2.14's DataLoader with 3 workers (and transformers'
// seed_worker as the training worker_init_fn) drew in the Debian unstable chroot: torch.manual_seed(42), then each
// batch's collate_fn drew torch.randint(0, 1000000, (1,)) in its worker; batch j comes from worker j % 3.
TEST(WorkerGeneratorsTest, SeededAsTorchAndHfSeedTheirWorkerProcesses) {
  at::Generator global = at::detail::createCPUGenerator(42);
  const int64_t base = draw_dataloader_base_seed(global);
  EXPECT_EQ(base, 6909045637428952499);  // torch.empty((), dtype=torch.int64).random_() after manual_seed(42)
  auto draws = [&](const std::vector<uint64_t>& seeds) {
    std::vector<at::Generator> gens;
    for (uint64_t seed : seeds) gens.push_back(at::detail::createCPUGenerator(seed));
    std::vector<int64_t> out;
    for (size_t j = 0; j < 6; ++j) out.push_back(torch::randint(0, 1000000, {1}, gens[j % 3]).item<int64_t>());
    return out;
  };
  const std::vector<int64_t> rank0 = {560664, 550572, 409526, 227588, 364754, 406900};
  EXPECT_EQ(draws(dataloader_worker_seeds(base, 3, /*rank=*/0, /*training=*/true)), rank0);
  EXPECT_EQ(draws(dataloader_worker_seeds(base, 3, /*rank=*/1, /*training=*/true)),
            (std::vector<int64_t>{133847, 175967, 915401, 463881, 134043, 24995}));
  // Evaluation (no worker_init_fn): torch's base_seed + w, whose low 32 bits mt19937 keeps, as rank 0's.
  EXPECT_EQ(draws(dataloader_worker_seeds(base, 3, /*rank=*/0, /*training=*/false)), rank0);
  EXPECT_EQ(dataloader_worker_seeds(base, 3, 0, false)[2], static_cast<uint64_t>(base) + 2);
}

// Several streams: batch k goes to stream (first + k) % streams, each drawing from its own generator in turn; a
// rewind puts every stream's generator back as of the last batch handed out, and says whose turn is next.
TEST(BatchPrefetcherTest, StreamsTakeTheBatchesInTurnEachWithItsOwnGenerator) {
  IdsDataset data;
  const auto batches = batches_of(range(20), 3);  // 7 batches
  auto collator = masking_collator();
  auto streams_from = [&](uint64_t seed) {
    std::vector<CollateStream> streams;
    for (uint64_t w = 0; w < 2; ++w) {
      at::Generator gen = at::detail::createCPUGenerator(seed + w);
      streams.push_back({collator.with_generator(gen), gen});
    }
    return streams;
  };
  // The reference: stream s's batches collated one after the other by a collator drawing from seed + s.
  std::vector<models::ModelInputs> expected(batches.size());
  for (size_t s = 0; s < 2; ++s) {
    auto reference = collator.with_generator(at::detail::createCPUGenerator(100 + s));
    for (size_t k = (s + 1) % 2; k < batches.size(); k += 2) {  // first stream 1: batch 0 is stream 1's
      std::vector<collators::Features> f;
      for (int64_t i : batches[k]) f.push_back(data.get(i));
      expected[k] = reference(f);
    }
  }
  auto streams = streams_from(100);
  BatchPrefetcher prefetcher(data, batches, streams, /*first_stream=*/1, /*num_workers=*/3, /*capacity=*/4);
  for (size_t k = 0; k < 3; ++k) expect_same_batch(*prefetcher.next(), expected[k], k);
  EXPECT_EQ(prefetcher.next_stream(), 0u);  // batch 3 is stream 0's
  prefetcher.rewind();  // up to 4 batches read ahead: both generators go back
  const auto states = prefetcher.consumed_generator_states();
  ASSERT_EQ(states.size(), 2u);
  for (size_t s = 0; s < 2; ++s) EXPECT_TRUE(torch::equal(streams[s].generator->get_state(), states[s]));
  // The states restored into new generators continue exactly (a resumed run's workers).
  auto resumed = streams_from(0);
  for (size_t s = 0; s < 2; ++s) resumed[s].generator->set_state(states[s]);
  BatchPrefetcher rest(data, std::vector<std::vector<int64_t>>(batches.begin() + 3, batches.end()), resumed,
                       prefetcher.next_stream(), 2, 2);
  for (size_t k = 3; k < batches.size(); ++k) expect_same_batch(*rest.next(), expected[k], k);
  EXPECT_FALSE(rest.next().has_value());
  for (size_t k = 3; k < batches.size(); ++k) expect_same_batch(*prefetcher.next(), expected[k], k);
}

}  // namespace
}  // namespace tcpp::trainer
