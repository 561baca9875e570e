// Checks a torch::save archive (optimizer.pt, rng_state.pt, model.pt: a TorchScript module zip) before LibTorch's
// torch::serialize::InputArchive reads it. LibTorch sizes each storage from the pickle (numel * itemsize), not from
// the zip record that holds its bytes, so a crafted file makes it read past a heap buffer (docs/RELIABILITY.md, F11).
#pragma once

#include <string>

namespace tcpp::trainer {

/// Throws InputError naming `path` and the zip entry or pickle record at fault unless:
/// - every zip entry's header and data lie inside the file, no two entries have the same name (LibTorch's zip reader
///   matches names case-insensitively, so neither may two that differ in case), and the pickles and storage records
///   are stored uncompressed, as LibTorch's writer stores them;
/// - every storage that `data.pkl` or `constants.pkl` declares, ('storage', torch.<Type>Storage, key, device, numel),
///   is in the form LibTorch's pickler writes it, and numel * itemsize bytes fit in its record <archive>/<key>;
/// - the pickles use only the opcodes LibTorch's unpickler reads, with lengths and memo indices inside the pickle,
///   and no instruction takes items from below its MARK (LibTorch's TUPLE would then read outside its stack).
/// - the TorchScript source LibTorch compiles while loading (code/**/*.py) holds only the attribute declarations
///   torch::serialize::OutputArchive writes, and the debug pickles beside it pass the pickle checks.
/// It reads only the zip directory, the local headers, the pickles and the code, not the tensor data.
void check_torch_archive(const std::string& path);

}  // namespace tcpp::trainer
