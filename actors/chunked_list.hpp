#pragma once
// A list whose copies share storage in chunks (for the routing snapshot's node lists). Copying it
// copies the chunk index (size/128 pointers), and a change copies only the chunk it touches, so a
// group of 100,000 nodes publishes a new snapshot in microseconds while readers keep the old one
// whole. Order is not meaningful: a removal moves the last entry into the hole.
#include <cstddef>
#include <memory>
#include <vector>

namespace sg {

template <class T>
class chunked_list {
 public:
  static constexpr size_t chunk_size = 128;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return (*chunks_[i / chunk_size])[i % chunk_size]; }

  class iterator {
   public:
    iterator(const chunked_list* l, size_t i) : l_{l}, i_{i} {}
    const T& operator*() const { return (*l_)[i_]; }
    const T* operator->() const { return &(*l_)[i_]; }
    iterator& operator++() { return ++i_, *this; }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const chunked_list* l_;
    size_t i_;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size_}; }

  // Writers (one owner, before publishing a copy): each copies the chunk it changes.
  void push_back(T v) {
    if (size_ % chunk_size == 0) {
      auto c = std::make_shared<chunk>();
      c->reserve(chunk_size);
      chunks_.push_back(std::move(c));
    } else {
      own_last();
    }
    mutable_chunk(chunks_.size() - 1).push_back(std::move(v));
    ++size_;
  }
  void set(size_t i, T v) {
    own(i / chunk_size);
    mutable_chunk(i / chunk_size)[i % chunk_size] = std::move(v);
  }
  // Moves the last entry into `i` and shrinks by one; returns the entry that moved into `i`, or
  // T{} when the removed entry was the last one.
  T remove_swap_last(size_t i) {
    if (i + 1 != size_) set(i, (*this)[size_ - 1]);
    own_last();
    mutable_chunk(chunks_.size() - 1).pop_back();
    if (--size_ % chunk_size == 0) chunks_.pop_back();
    return i < size_ ? (*this)[i] : T{};
  }

 private:
  using chunk = std::vector<T>;
  // A chunk may be shared with a published copy that another thread reads: it is copied before
  // it is changed, always (use_count() == 1 would not order our write after that thread's reads).
  void own(size_t c) { chunks_[c] = std::make_shared<chunk>(*chunks_[c]); }
  void own_last() { own(chunks_.size() - 1); }
  chunk& mutable_chunk(size_t c) { return const_cast<chunk&>(*chunks_[c]); }

  std::vector<std::shared_ptr<const chunk>> chunks_;
  size_t size_ = 0;
};

}  // namespace sg
