// Caching CPU allocator for LibTorch: mmap'd, huge-page-advised segments split into best-fit blocks that merge again.
#include "tcpp/trainer/cpu_allocator.h"

#include <sys/mman.h>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
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
constexpr size_t kSegment = 32 << 20;    // memory is mapped in segments of at least this, and split into blocks

// Round a request to its block size: the next multiple of 64 KiB. Coarser classes waste memory that stays resident
// for the whole run (a 3.1 MB activation in a 4 MB block: +29%); a training step asks for the same sizes every step,
// so fine classes still reuse exactly.
size_t block_size(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// A segment of `size` bytes (a multiple of 2 MiB): over-mapped by one huge page and trimmed, so it starts on a 2 MiB
// boundary and THP can back all of it.
void* map_block(size_t size) {
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
    for (auto it = free_.begin(); it != free_.end();) {
      Block* b = it->second;
      if (b->prev == nullptr && b->next == nullptr) {  // a whole segment, free: give it back
        it = free_.erase(it);
        unmap_segment(b);
      } else {
        ++it;
      }
    }
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

  // A block is a piece of a segment (one mmap). A segment's blocks cover it exactly, in address order (prev/next);
  // neighbours that are both free are merged at once, so memory freed by one kind of tensor (a layer's activations
  // in backward) serves the next kind (its gradients) instead of sitting in the cache beside new mappings.
  struct Block {
    char* ptr;
    size_t size;
    bool free;
    Block* prev;  // neighbours in the same segment, or null at its ends
    Block* next;
  };

  static std::pair<size_t, uintptr_t> key(const Block* b) { return {b->size, reinterpret_cast<uintptr_t>(b->ptr)}; }

  void* take(size_t size) {
    std::unique_lock<std::mutex> lock(mu_);
    // Best fit: the smallest free block that holds the request (lowest address among equals).
    auto it = free_.lower_bound({size, uintptr_t{0}});
    Block* b = nullptr;
    if (it != free_.end()) {
      b = it->second;
      free_.erase(it);
      stats_.cached_bytes -= static_cast<int64_t>(b->size);
      ++stats_.num_reuses;
    } else {
      lock.unlock();
      const size_t segment = std::max(kSegment, (size + kHuge - 1) / kHuge * kHuge);
      void* p = map_block(segment);
      if (p == nullptr) {  // out of address space or memory: drop the free segments and try once more
        release_all();
        p = map_block(segment);
        if (p == nullptr) throw std::bad_alloc();
      }
      lock.lock();
      ++stats_.num_maps;
      b = new Block{static_cast<char*>(p), segment, false, nullptr, nullptr};
    }
    // Split off the rest when it is worth keeping as a block of its own.
    if (b->size - size >= kSmall) {
      auto* rest = new Block{b->ptr + size, b->size - size, true, b, b->next};
      if (b->next != nullptr) b->next->prev = rest;
      b->next = rest;
      b->size = size;
      free_.emplace(key(rest), rest);
      stats_.cached_bytes += static_cast<int64_t>(rest->size);
    }
    b->free = false;
    live_.emplace(b->ptr, b);
    note_allocated(b->size);
    return b->ptr;
  }

  void give_back(void* p) {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block, from malloc
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    Block* b = it->second;
    live_.erase(it);
    stats_.allocated_bytes -= static_cast<int64_t>(b->size);
    b->free = true;
    stats_.cached_bytes += static_cast<int64_t>(b->size);
    if (b->next != nullptr && b->next->free) absorb_next(b);
    if (b->prev != nullptr && b->prev->free) {
      Block* prev = b->prev;
      free_.erase(key(prev));
      absorb_next(prev);
      b = prev;
    }
    // Keep at most 1.25x the peak working set free (and two segments' worth in any case); beyond that, whole free
    // segments go back to the OS.
    const int64_t cap =
        std::max<int64_t>(stats_.peak_allocated_bytes + stats_.peak_allocated_bytes / 4, 2 * int64_t{kSegment});
    if (b->prev == nullptr && b->next == nullptr && stats_.cached_bytes > cap) {
      unmap_segment(b);
      return;
    }
    free_.emplace(key(b), b);
  }

  // b takes in its free right neighbour (which leaves the free set).
  void absorb_next(Block* b) {
    Block* n = b->next;
    free_.erase(key(n));
    b->size += n->size;
    b->next = n->next;
    if (n->next != nullptr) n->next->prev = b;
    delete n;
  }

  // A whole free segment (not in free_) is unmapped.
  void unmap_segment(Block* b) {
    stats_.cached_bytes -= static_cast<int64_t>(b->size);
    ::munmap(b->ptr, b->size);
    delete b;
  }

  void note_allocated(size_t size) {
    stats_.allocated_bytes += static_cast<int64_t>(size);
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  std::mutex mu_;
  std::map<std::pair<size_t, uintptr_t>, Block*> free_;  // free blocks by (size, address)
  std::unordered_map<void*, Block*> live_;            // blocks handed out, by address
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
