// Fuzz target: the GPT-2 legacy files, vocab.json and merges.txt (the input split at its first NUL byte),
// loaded as AutoTokenizer does for a folder without tokenizer.json, then a fixed text encoded and decoded.
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = tcpp::fuzz::split_input(data, size, std::string(1, '\0'));
  std::string merges = parts.size() > 1 ? parts[1] : "";
  std::string vocab_path = tcpp::fuzz::write_scratch("vocab.json", reinterpret_cast<const uint8_t*>(parts[0].data()),
                                                     parts[0].size());
  std::string merges_path =
      tcpp::fuzz::write_scratch("merges.txt", reinterpret_cast<const uint8_t*>(merges.data()), merges.size());
  try {
    auto tok = tcpp::tokenizers::load_gpt2_tokenizer(vocab_path, merges_path, /*add_prefix_space=*/(size & 1) != 0);
    auto enc = tok.encode("Hello world, the lower newest widest! \xc3\xa9\xe2\x82\xac", /*add_special_tokens=*/true);
    (void)tok.decode(enc.ids, /*skip_special_tokens=*/false);
  } catch (const tcpp::Error&) {
  }
  return 0;
}
