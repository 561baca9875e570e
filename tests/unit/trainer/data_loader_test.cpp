// The sharded batch order of data-parallel training, against accelerate's BatchSamplerShard (values from its
// documented behaviour: round-robin batches, even_batches wrap-around, drop_last).
#include <gtest/gtest.h>

#include <numeric>
#include <set>

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

}  // namespace
}  // namespace tcpp::trainer
