// Tests for models/hub: local folders, hub ids in the Hugging Face cache (refs/main, other revisions), clear misses.
#include "tcpp/models/hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "test_util.h"
#include "tcpp/core/error.h"

namespace tcpp::models {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

TEST(HubTest, LocalFolderIsReturnedAsIs) {
  TempDir dir;
  EXPECT_EQ(resolve_model_path(dir.path()), dir.path());
}

TEST(HubTest, HubIdResolvesThroughRefsInTheCache) {
  TempDir cache;
  fs::path repo = fs::path(cache.path()) / "models--my-org--tiny-gpt2";
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / "abc123");
  fs::create_directories(repo / "snapshots" / "def456");
  testing::write_text((repo / "refs" / "main").string(), "abc123\n");
  ::setenv("HF_HUB_CACHE", cache.path().c_str(), 1);
  EXPECT_EQ(resolve_model_path("my-org/tiny-gpt2"), (repo / "snapshots" / "abc123").string());
  EXPECT_EQ(resolve_model_path("my-org/tiny-gpt2", "def456"), (repo / "snapshots" / "def456").string());
  EXPECT_THAT([] { resolve_model_path("my-org/tiny-gpt2", "v2"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("my-org/tiny-gpt2"), HasSubstr("revision \"v2\""))));
  EXPECT_THAT([] { resolve_model_path("gpt2"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("gpt2"), HasSubstr("models--gpt2"),
                                              HasSubstr("no network download"))));
  ::unsetenv("HF_HUB_CACHE");
}

}  // namespace
}  // namespace tcpp::models
