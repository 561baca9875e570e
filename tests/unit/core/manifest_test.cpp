// Folder manifests: a complete folder verifies; a truncated, altered or missing file is named in the error.
#include "tcpp/core/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("tcpp_manifest_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/sub");
    write_file_atomic(dir_ + "/model.bin", std::string(3 << 20, 'x'));  // spans several hashing chunks
    write_file_atomic(dir_ + "/sub/state.json", "{\"step\": 3}");
    write_manifest(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ManifestTest, CompleteFolderVerifies) {
  EXPECT_NO_THROW(verify_manifest(dir_));
  EXPECT_EQ(file_xxh64(dir_ + "/sub/state.json").size(), 16u);
}

TEST_F(ManifestTest, KnownHashOfEmptyInput) {
  write_file_atomic(dir_ + "/empty", "");
  EXPECT_EQ(file_xxh64(dir_ + "/empty"), "ef46db3751d8e999");  // XXH64("", seed 0)
}

TEST_F(ManifestTest, TruncatedFileIsNamedWithItsSizes) {
  fs::resize_file(dir_ + "/model.bin", 1000);
  EXPECT_THAT([&] { verify_manifest(dir_); },
              ThrowsMessage<InputError>(HasSubstr("model.bin: has 1000 bytes, checkpoint_manifest.json recorded 3145728")));
}

TEST_F(ManifestTest, FlippedByteIsFound) {
  std::fstream f(dir_ + "/model.bin", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(2 << 20);
  f.put('y');
  f.close();
  EXPECT_THAT([&] { verify_manifest(dir_); }, ThrowsMessage<InputError>(HasSubstr("content differs")));
}

TEST_F(ManifestTest, MissingFileIsNamedAndTheAdviceSaysWhatToDo) {
  fs::remove(dir_ + "/sub/state.json");
  EXPECT_THAT([&] { verify_manifest(dir_); },
              ThrowsMessage<InputError>(HasSubstr("sub/state.json: missing")));
  EXPECT_THAT([&] { verify_manifest(dir_); }, ThrowsMessage<InputError>(HasSubstr("delete " + dir_)));
}

// A damaged or hostile manifest is an InputError naming it: never a JSON type error or an undefined conversion (1e300
// as a size), and never a path outside the folder.
TEST_F(ManifestTest, MalformedEntriesAreNamed) {
  const std::string manifest = dir_ + "/checkpoint_manifest.json";
  for (const char* entry : {R"("model.bin": {"size": 1e300, "xxh64": "0"})", R"("model.bin": {"size": "3", "xxh64": "0"})",
                            R"("model.bin": {"size": -1, "xxh64": "0"})", R"("model.bin": {"size": 3, "xxh64": 7})",
                            R"("../outside": {"size": 3, "xxh64": "0"})", R"("/etc/hostname": {"size": 3, "xxh64": "0"})"}) {
    write_file_atomic(manifest, std::string(R"({"format": "tcpp-manifest-1", "files": {)") + entry + "}}");
    EXPECT_THAT([&] { verify_manifest(dir_); }, ThrowsMessage<InputError>(HasSubstr(manifest + ": entry"))) << entry;
  }
}

TEST_F(ManifestTest, FolderWithoutManifestPasses) {
  fs::remove(dir_ + "/checkpoint_manifest.json");
  fs::remove(dir_ + "/model.bin");
  EXPECT_NO_THROW(verify_manifest(dir_));
}

}  // namespace
}  // namespace tcpp
