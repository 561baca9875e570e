// Fuzz target: a tokenizer.json loaded as Tokenizer::from_file does, then used: the text after the first NUL
// byte of the input (or a fixed sentence) encoded alone and as a pair, in a batch, and decoded.
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = tcpp::fuzz::split_input(data, size, std::string(1, '\0'));
  std::string path = tcpp::fuzz::write_scratch("tokenizer.json", reinterpret_cast<const uint8_t*>(parts[0].data()),
                                               parts[0].size());
  std::string text = parts.size() > 1 ? parts[1] : "Hello, wörld! ab-ab <s> [CLS] 12 \t\n x";
  try {
    auto tok = tcpp::tokenizers::Tokenizer::from_file(path);
    auto enc = tok.encode(text, /*add_special_tokens=*/true);
    (void)tok.encode_pair(text, "ab", /*add_special_tokens=*/true);
    (void)tok.encode_batch(std::vector<std::string>{text, "a", ""}, /*add_special_tokens=*/true, /*num_threads=*/1);
    (void)tok.decode(enc.ids, /*skip_special_tokens=*/false);
    (void)tok.decode({0, 1, 2, 3, 4, 5, 1000000}, /*skip_special_tokens=*/true);
  } catch (const tcpp::Error&) {
  }
  return 0;
}
