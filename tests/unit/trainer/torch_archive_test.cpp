// check_torch_archive: the zip and pickle checks run before LibTorch reads optimizer.pt, rng_state.pt or model.pt
// (issue #10, finding F11: LibTorch sizes a storage from the pickle, not from the record that holds its bytes).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/torch_archive.h"

namespace tcpp::trainer {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
namespace fs = std::filesystem;

struct ScratchDir {
  fs::path path = fs::temp_directory_path() / ("tcpp_torch_archive_test_" + std::to_string(::getpid()));
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// AdamW over a Linear(4, 3) after one step, saved as the Trainer saves optimizer.pt: record data/0 is the weight's
// exp_avg, 12 floats.
std::string saved_optimizer(const std::string& path) {
  torch::nn::Linear model(4, 3);
  auto opt = create_adamw(*model, {});
  model(torch::randn({2, 4})).sum().backward();
  opt->step();
  save_optimizer(*opt, path);
  return path;
}

// The records of the archive at `from`, rewritten with LibTorch's writer into `to` after edit(name, bytes).
std::string rewritten(const std::string& from, const std::string& to,
                      const std::function<void(const std::string&, std::string&)>& edit) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  for (const auto& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;  // writeEndOfFile writes it
    auto [data, size] = reader.getRecord(name);
    std::string bytes(static_cast<const char*>(data.get()), size);
    edit(name, bytes);
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  return to;
}

// An archive holding data.pkl = `pickle` and the given records, written by LibTorch's writer.
std::string archive_with(const std::string& path, const std::string& pickle,
                         const std::vector<std::pair<std::string, std::string>>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
  return path;
}

std::string binunicode(const std::string& s) {
  const auto n = static_cast<uint32_t>(s.size());
  return std::string("X") + static_cast<char>(n & 0xff) + static_cast<char>((n >> 8) & 0xff) +
         static_cast<char>((n >> 16) & 0xff) + static_cast<char>(n >> 24) + s;
}

// ('storage', torch.FloatStorage, "0", "cpu", <numel as the pickle bytes given>) as LibTorch's pickler writes it.
std::string float_storage_pickle(const std::string& numel_op) {
  return std::string("\x80\x02(", 3) + binunicode("storage") + "ctorch\nFloatStorage\n" + binunicode("0") +
         binunicode("cpu") + numel_op + "tQ.";
}

TEST(TorchArchiveTest, ArchivesTheTrainerWritesPass) {
  ScratchDir dir;
  EXPECT_NO_THROW(check_torch_archive(saved_optimizer(dir.file("optimizer.pt"))));
  const std::string rng = dir.file("rng_state.pt");
  write_file_atomic(rng, rng_state_bytes(at::make_generator<at::CPUGeneratorImpl>(7)));
  EXPECT_NO_THROW(check_torch_archive(rng));
  // model.pt as torch_archive_model_io writes it: parameters and buffers, one of them empty.
  torch::serialize::OutputArchive archive;
  archive.write("w", torch::randn({3, 5}).t());
  archive.write("b", torch::zeros({0}));
  archive.write("steps", torch::arange(4, torch::kLong), /*is_buffer=*/true);
  const std::string model = dir.file("model.pt");
  archive.save_to(model);
  EXPECT_NO_THROW(check_torch_archive(model));
}

// F11: a moment's record (data/0: the exp_avg of one of the two parameters) cut 4 bytes short. Before the check,
// load_optimizer loaded it, the storage claiming 4 bytes more than its buffer, and the next AdamW step read past it
// inside LibTorch.
TEST(TorchArchiveTest, AStorageRecordShorterThanItsPickleSaysIsRefusedNamingTheRecord) {
  ScratchDir dir;
  size_t full = 0;
  const std::string path = rewritten(saved_optimizer(dir.file("optimizer.pt")), dir.file("short.pt"),
                                     [&](const std::string& name, std::string& bytes) {
                                       if (name != "data/0") return;
                                       full = bytes.size();
                                       bytes.resize(full - 4);
                                     });
  ASSERT_TRUE(full == 12 || full == 48) << full;  // 3 or 12 floats
  const auto message = AllOf(HasSubstr(path + ": data.pkl (byte "),
                             HasSubstr(") declares a Float storage \"0\" of " + std::to_string(full / 4) +
                                       " elements (" + std::to_string(full) + " bytes), but its record "
                                       "\"short/data/0\" holds only " + std::to_string(full - 4) +
                                       " bytes (the file was cut short or altered"));
  EXPECT_THAT([&] { check_torch_archive(path); }, ThrowsMessage<InputError>(message));
  torch::nn::Linear model(4, 3);
  auto opt = create_adamw(*model, {});
  EXPECT_THAT([&] { load_optimizer(*opt, path); }, ThrowsMessage<InputError>(message));
}

TEST(TorchArchiveTest, StorageDeclarationsAreCheckedAgainstTheirRecords) {
  ScratchDir dir;
  const std::string eight_bytes(8, '\0');
  EXPECT_NO_THROW(check_torch_archive(archive_with(dir.file("ok.pt"), float_storage_pickle("K\x02"), {{"data/0", eight_bytes}})));
  EXPECT_THAT([&] { check_torch_archive(archive_with(dir.file("a.pt"), float_storage_pickle("K\x03"), {{"data/0", eight_bytes}})); },
              ThrowsMessage<InputError>(HasSubstr("declares a Float storage \"0\" of 3 elements (12 bytes), but its "
                                                  "record \"a/data/0\" holds only 8 bytes")));
  EXPECT_THAT([&] { check_torch_archive(archive_with(dir.file("b.pt"), float_storage_pickle("K\x02"))); },
              ThrowsMessage<InputError>(HasSubstr("but the archive has no record \"b/data/0\"")));
  EXPECT_THAT([&] { check_torch_archive(archive_with(dir.file("c.pt"), float_storage_pickle(std::string("J\xff\xff\xff\xff", 5)))); },
              ThrowsMessage<InputError>(HasSubstr("of -1 elements: a negative size")));
  EXPECT_THAT([&] {
    check_torch_archive(archive_with(dir.file("d.pt"), float_storage_pickle(std::string("\x8a\x08\0\0\0\0\0\0\0\x40", 10))));
  }, ThrowsMessage<InputError>(HasSubstr("of 4611686018427387904 elements: its size in bytes overflows")));
  // A dtype LibTorch would take from anything that is an int: only what the instructions before it tell is accepted.
  const std::string via_reduce = std::string("\x80\x02(", 3) + binunicode("storage") + "ccollections\nOrderedDict\n)R" +
                                 binunicode("0") + binunicode("cpu") + "K\x02tQ.";
  EXPECT_THAT([&] { check_torch_archive(archive_with(dir.file("e.pt"), via_reduce, {{"data/0", eight_bytes}})); },
              ThrowsMessage<InputError>(HasSubstr("a persistent id that is not a ('storage', torch.<Type>Storage, key, "
                                                  "device, numel) tuple")));
}

// Pickles LibTorch's unpickler would mishandle: it indexes past its stack for TUPLE after items were taken from below
// the MARK and for a DICT of an odd number of items; it allocates a memo of any index LONG_BINPUT names.
TEST(TorchArchiveTest, PicklesLibTorchWouldMisreadAreRefused) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\x80\x02K\x01K\x02(\x86t.", 10), "TUPLEn takes items from below its MARK"},
      {std::string("\x80\x02(K\x01\x64.", 7), "DICT with an odd number of items"},
      {std::string("\x80\x02}(K\x01u.", 8), "SETITEMS with an odd number of items"},
      {std::string("\x80\x02Nr\xff\xff\xff\xff.", 9), "memo index 4294967295 out of range"},
      {std::string("\x80\x02X\xff\xff\xff\x7f.", 8), "truncated pickle"},
      {std::string("\x80\x04N.", 4), "expected a protocol 2 pickle"},
      {std::string("\x80\x02\x95N.", 5), "pickle opcode 0x95 is not one LibTorch reads"},
  };
  int i = 0;
  for (const auto& [pickle, message] : cases) {
    const std::string path = archive_with(dir.file("p" + std::to_string(i++) + ".pt"), pickle);
    EXPECT_THAT([&] { check_torch_archive(path); }, ThrowsMessage<InputError>(AllOf(HasSubstr(path + ": record \""),
                                                                                    HasSubstr(message))))
        << message;
  }
}

// F15: LibTorch compiles the archive's code/ records as TorchScript, and its compiler crashed (SEGV in
// ScriptTypeParser::parseClassConstant) on a class constant without a type, a one-byte change the resume_state target
// made. Only the declarations OutputArchive writes get through.
TEST(TorchArchiveTest, CodeRecordsOtherThanOutputArchivesDeclarationsAreRefused) {
  ScratchDir dir;
  std::string edited;
  const std::string path = rewritten(saved_optimizer(dir.file("optimizer.pt")), dir.file("code.pt"),
                                     [&](const std::string& name, std::string& bytes) {
                                       const size_t at = bytes.find("__buffers__ = []");
                                       if (!edited.empty() || name.rfind("code/", 0) != 0 || at == std::string::npos) return;
                                       bytes[at + 2] = '1';
                                       edited = name;
                                     });
  ASSERT_FALSE(edited.empty());
  EXPECT_THAT([&] { check_torch_archive(path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": record \"code/" + edited + "\" line 3: not a declaration "
                                                  "torch::serialize::OutputArchive writes (LibTorch would compile it as "
                                                  "TorchScript):   __1uffers__ = []")));
  // A model's long parameter list (one line, no std::regex) passes.
  torch::serialize::OutputArchive archive;
  for (int i = 0; i < 3000; ++i) archive.write("transformer.h." + std::to_string(i) + ".weight", torch::zeros({1}));
  const std::string model = dir.file("model.pt");
  archive.save_to(model);
  EXPECT_NO_THROW(check_torch_archive(model));
}

std::string with_bytes_at(const std::string& path, size_t at, const std::string& bytes) {
  std::string content = read_file(path);
  content.replace(at, bytes.size(), bytes);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

TEST(TorchArchiveTest, ZipEntriesOutsideTheFileOrNamedTwiceAreRefused) {
  ScratchDir dir;
  // Record data/0's sizes in the central directory (46-byte header before its name) raised to 1 MiB.
  const std::string path = saved_optimizer(dir.file("big.pt"));
  const size_t name_at = read_file(path).rfind("archive/data/0");  // save_optimizer's in-memory writer names it so
  ASSERT_NE(name_at, std::string::npos);
  with_bytes_at(path, name_at - 46 + 20, std::string("\0\0\x10\0\0\0\x10\0", 8));
  EXPECT_THAT([&] { check_torch_archive(path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path + ": not a valid torch::save archive: zip entry "
                                                        "\"archive/data/0\": its data (1048576 bytes at byte "),
                                              HasSubstr("lies past the end of the file"))));
  // Cut in the middle: no end record.
  const std::string cut = saved_optimizer(dir.file("cut.pt"));
  fs::resize_file(cut, fs::file_size(cut) / 2);
  EXPECT_THAT([&] { check_torch_archive(cut); },
              ThrowsMessage<InputError>(HasSubstr(cut + ": not a valid torch::save archive: no zip end-of-central-"
                                                        "directory record")));
  // LibTorch looks records up ignoring case: which of two it would read is not ours to guess.
  const std::string twice = archive_with(dir.file("twice.pt"), float_storage_pickle("K\x02"),
                                         {{"data/0", std::string(8, '\0')}, {"DATA/0", std::string(4, '\0')}});
  EXPECT_THAT([&] { check_torch_archive(twice); },
              ThrowsMessage<InputError>(HasSubstr("two zip entries named \"twice/data/0\" and \"twice/DATA/0\"")));
}

}  // namespace
}  // namespace tcpp::trainer
