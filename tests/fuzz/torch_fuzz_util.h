// Helper for the fuzz targets that produce tensors: LibTorch is not instrumented, so a view that reaches past its
// storage would read out of bounds unseen by ASan. read_all() checks the extent itself first, then reads every element.
#pragma once

#include <torch/torch.h>

#include <cstdlib>
#include <cstdio>

namespace tcpp::fuzz {

inline void read_all(const torch::Tensor& t) {
  if (t.numel() == 0) return;
  int64_t last = t.storage_offset();  // element index of the last element the view reaches
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0) {
      std::fprintf(stderr, "tensor with a negative stride\n");
      std::abort();
    }
    last += (t.size(d) - 1) * t.stride(d);
  }
  if (t.storage_offset() < 0 ||
      static_cast<uint64_t>(last + 1) * t.element_size() > static_cast<uint64_t>(t.storage().nbytes())) {
    std::fprintf(stderr, "tensor view reaches past its storage: last element %lld, storage %zu bytes\n",
                 static_cast<long long>(last), static_cast<size_t>(t.storage().nbytes()));
    std::abort();
  }
  // A zero stride lets a view of one stored element claim 2^40 elements (torch.load allows that too): the extent
  // check above is what matters; materialising it would only measure the allocator.
  if (t.numel() <= (int64_t{1} << 24)) (void)t.to(torch::kFloat64).sum().item<double>();
}

}  // namespace tcpp::fuzz
