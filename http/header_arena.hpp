#pragma once
// Memory for one proxied exchange's header fields: Beast allocates every field separately, about
// fifteen malloc/free pairs per request and answer. A connection keeps one arena, hands it to
// both parsers through arena_allocator, and resets it between requests; nothing is freed one by
// one. Bounded: the parsers' header limits cap what one exchange can take.
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace sg::http {

class header_arena {
 public:
  static constexpr size_t block_size = 16 * 1024;

  void* allocate(size_t n, size_t align) {
    size_t at = (used_ + align - 1) & ~(align - 1);
    if (!blocks_.empty() && at + n <= cap_) {
      used_ = at + n;
      return blocks_.back().get() + at;
    }
    // A new block (a big request may need several; one larger than a block gets its own).
    cap_ = n > block_size ? n : block_size;
    if (blocks_.empty()) first_cap_ = cap_;
    blocks_.push_back(std::make_unique<char[]>(cap_));
    used_ = n;
    return blocks_.back().get();
  }
  // Forgets everything handed out; keeps the first block for the next request.
  void reset() {
    if (blocks_.size() > 1) blocks_.resize(1);
    cap_ = blocks_.empty() ? 0 : first_cap_;
    used_ = 0;
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0;
  size_t cap_ = 0;
  size_t first_cap_ = 0;
};

// A standard allocator over a header_arena (deallocate does nothing: reset() frees all).
template <class T>
struct arena_allocator {
  using value_type = T;
  header_arena* arena;

  explicit arena_allocator(header_arena& a) noexcept : arena(&a) {}
  template <class U>
  arena_allocator(const arena_allocator<U>& o) noexcept : arena(o.arena) {}

  T* allocate(size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T*, size_t) noexcept {}

  template <class U>
  bool operator==(const arena_allocator<U>& o) const noexcept {
    return arena == o.arena;
  }
};

}  // namespace sg::http
