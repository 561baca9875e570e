// Fuzz target: the BERT legacy vocab.txt loaded as AutoTokenizer does for a folder without tokenizer.json,
// then a fixed text encoded (WordPiece, [CLS]/[SEP]) and decoded.
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = tcpp::fuzz::write_scratch("vocab.txt", data, size);
  try {
    auto tok = tcpp::tokenizers::load_bert_tokenizer(path, /*do_lower_case=*/(size & 1) != 0);
    auto enc = tok.encode("Hello, unaffable world! [MASK] caf\xc3\xa9 \xe4\xb8\xad", /*add_special_tokens=*/true);
    (void)tok.decode(enc.ids, /*skip_special_tokens=*/true);
  } catch (const tcpp::Error&) {
  }
  return 0;
}
