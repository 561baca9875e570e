// Caching CPU allocator for LibTorch: size-class free lists of mmap'd, huge-page-advised blocks.
#include "tcpp/trainer/cpu_allocator.h"

#include <sys/mman.h>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

namespace tcpp::trainer {
namespace {

constexpr size_t kSmall = 256 << 10;     // below: malloc (glibc serves these from its heaps without faults)
constexpr size_t kHuge = 2 << 20;        // transparent huge page size on x86-64
constexpr size_t kSmallAlign = 64 << 10;  // rounding of 256 KiB..2 MiB blocks

// Round a request to its block size: multiples of 64 KiB below 2 MiB, multiples of 2 MiB up to 32 MiB, and above
// that multiples of a power-of-two step between 1/16 and 1/8 of the size (at most 1/8 extra; few distinct sizes).
size_t block_size(size_t n) {
  if (n < kHuge) return (n + kSmallAlign - 1) / kSmallAlign * kSmallAlign;
  size_t step = kHuge;
  if (n >= (32u << 20)) {
    while (step * 16 < n) step *= 2;
  }
  return (n + step - 1) / step * step;
}

void* map_block(size_t size) {
  if (size < kHuge) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // Over-map by one huge page and trim, so the block starts on a 2 MiB boundary and THP can back all of it.
  const size_t span = size + kHuge;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (base + kHuge - 1) & ~(uintptr_t(kHuge) - 1);
  if (aligned > base) ::munmap(raw, aligned - base);
  const size_t tail = (base + span) - (aligned + size);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
#endif
  return reinterpret_cast<void*>(aligned);
}

struct Block {
  void* ptr = nullptr;
  size_t size = 0;
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  // LibTorch <= 2.2 declares allocate() const, later versions non-const: define both, one of them overrides.
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }

  c10::DataPtr allocate_block(size_t n) const {
    if (n < kSmall) {
      void* p = n == 0 ? nullptr : c10::alloc_cpu(n);
      return {p, p, &free_small, c10::Device(c10::DeviceType::CPU)};
    }
    Block* b = const_cast<CachingCpuAllocator*>(this)->take(block_size(n));
    return {b->ptr, b, &free_large, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return nullptr; }  // contexts differ from data pointers

  // LibTorch 2.x declares this pure virtual (copy between two allocations of this allocator); 1.13 does not.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  void release_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, b] : free_) unmap(b);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  CpuAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  static CachingCpuAllocator& instance() {
    static auto* a = new CachingCpuAllocator();  // never destroyed: tensors may die during static destruction
    return *a;
  }

 private:
  static void free_small(void* p) { c10::free_cpu(p); }
  static void free_large(void* ctx) { instance().give_back(static_cast<Block*>(ctx)); }

  Block* take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Best fit among free blocks no more than 1/8 larger than asked (exact sizes recur every training step).
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 8) {
        Block* b = it->second;
        free_.erase(it);
        stats_.cached_bytes -= static_cast<int64_t>(b->size);
        note_allocated(b->size);
        ++stats_.num_reuses;
        return b;
      }
    }
    void* p = map_block(size);
    if (p == nullptr) {  // out of address space or memory: drop the cache and try once more
      release_all();
      p = map_block(size);
      if (p == nullptr) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.num_maps;
    note_allocated(size);
    return new Block{p, size};
  }

  void give_back(Block* b) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.allocated_bytes -= static_cast<int64_t>(b->size);
    // Keep at most 1.25x the peak working set in the cache; beyond that, return the block to the OS.
    const int64_t cap = stats_.peak_allocated_bytes + stats_.peak_allocated_bytes / 4;
    if (stats_.cached_bytes + static_cast<int64_t>(b->size) > cap) {
      unmap(b);
      return;
    }
    stats_.cached_bytes += static_cast<int64_t>(b->size);
    free_.emplace(b->size, b);
  }

  void note_allocated(size_t size) {
    stats_.allocated_bytes += static_cast<int64_t>(size);
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  static void unmap(Block* b) {
    ::munmap(b->ptr, b->size);
    delete b;
  }

  std::mutex mu_;
  std::multimap<size_t, Block*> free_;
  CpuAllocatorStats stats_;
};

}  // namespace

bool install_caching_cpu_allocator() {
  static const bool installed = [] {
    const char* choice = std::getenv("TCPP_CPU_ALLOCATOR");
    if (choice != nullptr && std::string(choice) == "system") return false;
    c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
    return true;
  }();
  return installed;
}

void empty_cpu_cache() { CachingCpuAllocator::instance().release_all(); }

CpuAllocatorStats cpu_allocator_stats() { return CachingCpuAllocator::instance().stats(); }

}  // namespace tcpp::trainer
