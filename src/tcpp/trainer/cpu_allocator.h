// A caching CPU allocator for LibTorch (the CPU twin of PyTorch's CUDA caching allocator): memory freed by a tensor
// is kept and handed to the next ones, so a training step's activations, logits and gradients reuse the same memory
// every step instead of being unmapped and faulted in again (the page faults cost more than the arithmetic on
// virtual machines: ~0.4 GB/s first touch vs ~40 GB/s reuse measured on our CI hosts). Memory is mapped in segments
// (>= 32 MiB, 2 MiB aligned, advised for transparent huge pages: 512x fewer faults on first touch), split into
// best-fit blocks of 64 KiB multiples, and free neighbours merge again, so what one kind of tensor frees (a layer's
// activations during backward) serves another (its gradients) instead of new mappings: GPT-2 124M's peak RSS falls
// by the gradients' size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tcpp::trainer {

struct CpuAllocatorStats {
  int64_t allocated_bytes = 0;       // in live tensors (blocks handed out by the cache)
  int64_t cached_bytes = 0;          // free bytes kept in mapped segments for reuse
  int64_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  int64_t num_maps = 0;              // segments obtained from the OS (mmap)
  int64_t num_reuses = 0;            // allocations served from the cache
};

/// Make the caching allocator LibTorch's CPU allocator for the rest of the process (idempotent; tensors allocated
/// before keep their own deleters). Blocks under 256 KiB still come from malloc. Whole free segments go back to the
/// OS once more than 1.25x the peak in use (and at least 64 MiB) is free. TCPP_CPU_ALLOCATOR=system keeps
/// LibTorch's default. Returns whether the caching allocator is installed.
bool install_caching_cpu_allocator();

/// Give every wholly free segment back to the OS (segments with a live block stay).
void empty_cpu_cache();

CpuAllocatorStats cpu_allocator_stats();

}  // namespace tcpp::trainer
