// Fuzz target: trainer_state.json as a resumed run reads it (TrainerState::load_from_json), then written back the way
// every checkpoint save writes it (to_json, dumped with Python's float spelling).
#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/trainer/trainer_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = tcpp::fuzz::write_scratch("trainer_state.json", data, size);
  try {
    auto state = tcpp::trainer::TrainerState::load_from_json(path);
    (void)tcpp::dump_json_python(state.to_json(), 2);
  } catch (const tcpp::Error&) {
  }
  return 0;
}
