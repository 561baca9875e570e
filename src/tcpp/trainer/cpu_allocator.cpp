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
#include <unordered_map>

namespace tcpp::trainer {
namespace {

constexpr size_t kSmall = 256 << 10;     // below: malloc (glibc serves these from its heaps without faults)
constexpr size_t kHuge = 2 << 20;        // transparent huge page size on x86-64
constexpr size_t kAlign = 64 << 10;      // block sizes are multiples of this

// Round a request to its block size: the next multiple of 64 KiB. Coarser classes waste memory that stays resident
// for the whole run (a 3.1 MB activation in a 4 MB block: +29%); a training step asks for the same sizes every step,
// so fine classes still reuse exactly.
size_t block_size(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

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

class CachingCpuAllocator final : public c10::Allocator {
 public:
  // LibTorch <= 2.2 declares allocate() const, later versions non-const: define both, one of them overrides.
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }

  // Context == data pointer and one deleter for every block, so raw_allocate()/raw_deallocate() work (oneDNN
  // paths such as BERT's GELU use them): the deleter tells cached blocks from malloc'd ones by address.
  c10::DataPtr allocate_block(size_t n) const {
    void* p = nullptr;
    if (n < kSmall)
      p = n == 0 ? nullptr : c10::alloc_cpu(n);
    else
      p = const_cast<CachingCpuAllocator*>(this)->take(block_size(n));
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  // LibTorch 2.x declares this pure virtual (copy between two allocations of this allocator); 1.13 does not.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  void release_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, p] : free_) ::munmap(p, size);
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
  static void release(void* p) {
    if (p != nullptr) instance().give_back(p);
  }

  void* take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Best fit among free blocks no more than 1/8 larger than asked (exact sizes recur every training step).
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 8) {
        const size_t got = it->first;
        void* p = it->second;
        free_.erase(it);
        stats_.cached_bytes -= static_cast<int64_t>(got);
        live_.emplace(p, got);
        note_allocated(got);
        ++stats_.num_reuses;
        return p;
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
    live_.emplace(p, size);
    note_allocated(size);
    return p;
  }

  void give_back(void* p) {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block, from malloc
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    live_.erase(it);
    stats_.allocated_bytes -= static_cast<int64_t>(size);
    // Keep at most 1.25x the peak working set in the cache; beyond that, return the block to the OS.
    const int64_t cap = stats_.peak_allocated_bytes + stats_.peak_allocated_bytes / 4;
    if (stats_.cached_bytes + static_cast<int64_t>(size) > cap) {
      ::munmap(p, size);
      return;
    }
    stats_.cached_bytes += static_cast<int64_t>(size);
    free_.emplace(size, p);
  }

  void note_allocated(size_t size) {
    stats_.allocated_bytes += static_cast<int64_t>(size);
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  std::mutex mu_;
  std::multimap<size_t, void*> free_;        // cached blocks by size
  std::unordered_map<void*, size_t> live_;   // blocks handed out, by address
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
