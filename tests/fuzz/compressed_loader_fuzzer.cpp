// Fuzz target: a compressed data file (gzip, bzip2, xz, zstd, lz4; the input's first bytes decide, as
// detect_compression decides): decompress_file into the scratch folder, then the same file streamed as JSON Lines
// and as text (IterableDataset, which decodes it piece by piece). Inputs that decompress to more than 4 MiB stop
// after the count (a tiny file can hold gigabytes; that is not a finding).
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/compression.h"
#include "tcpp/datasets/iterable_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tcpp::datasets;
  const std::string in = tcpp::fuzz::write_scratch("data.jsonl", data, size);
  try {
    const Compression c = detect_compression(in);
    if (c == Compression::kNone) return 0;
    auto reader = DecompressingReader::open(in, c);
    std::vector<char> buf(size_t{1} << 16);
    while (reader->read(buf.data(), buf.size()) > 0)
      if (reader->produced() > (int64_t{4} << 20)) return 0;
    decompress_file(in, c, tcpp::fuzz::scratch_dir() + "/decompressed");
    for (const char* builder : {"json", "text"}) {
      LoadOptions o;
      o.builder = builder;
      o.data_files = {{"train", {in}}};
      int64_t rows = 0;
      IterableDataset::from_files(o, "train").for_each_batch(64, [&](const Batch& b) {
        rows += static_cast<int64_t>(b.num_rows());
        return rows < 100000;
      });
    }
  } catch (const tcpp::Error&) {
  }
  return 0;
}
