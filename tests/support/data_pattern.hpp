// Deterministic pseudo-random bytes addressed by offset. upload() and the test node's /download
// generate the same stream on the fly, so tests compare hashes without holding data in memory.
#pragma once

#include "tests/support/sha256.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sg::test {

inline constexpr std::uint64_t pattern_seed = 0x5eed5eedcafef00dULL;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Writes the n pattern bytes that start at stream offset `offset` into out.
inline void fill_pattern(std::uint64_t offset, char* out, std::size_t n) {
  while (n > 0) {
    std::uint64_t word = splitmix64(pattern_seed ^ (offset / 8));
    unsigned char bytes[8];
    std::memcpy(bytes, &word, 8);
    std::size_t skip = static_cast<std::size_t>(offset % 8);
    std::size_t take = std::min<std::size_t>(8 - skip, n);
    std::memcpy(out, bytes + skip, take);
    out += take;
    offset += take;
    n -= take;
  }
}

// SHA-256 hex of the first `bytes` pattern bytes (what upload() sends, what /download serves).
inline std::string pattern_sha256(std::uint64_t bytes) {
  sha256 h;
  std::vector<char> buf(64 * 1024);
  for (std::uint64_t off = 0; off < bytes;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), bytes - off));
    fill_pattern(off, buf.data(), n);
    h.update(buf.data(), n);
    off += n;
  }
  return h.hex();
}

}  // namespace sg::test
