#pragma once
// Small helpers shared by the fuzz targets: a byte reader over the fuzz input, a check that
// aborts with a message (libFuzzer then keeps the input as a crash), and a chunked decoder.
#include "http/framing.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\n*** invariant broken at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) ::fuzz::fail(#cond, __FILE__, __LINE__); \
  } while (0)

// Takes parameter bytes from the front of the input (0 once it is used up); rest() is the
// remainder.
struct input {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() {
    uint16_t hi = byte();
    return static_cast<uint16_t>(hi << 8 | byte());
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(p), n}; }
};

// A chunked message decoded in one go.
struct decoded {
  std::string data;
  std::string trailers;
  size_t consumed = 0;
  bool done = false;
  const char* error = nullptr;
};

inline decoded decode_chunked(std::string_view in, size_t trailer_limit = 64 * 1024) {
  decoded d;
  sg::http::chunked_reader r(trailer_limit);
  d.consumed = r.feed(in, [&](std::string_view v) { d.data.append(v); });
  d.done = r.done();
  d.error = r.error();
  if (d.done) d.trailers = std::string(r.trailers());
  return d;
}

// The chunked coding of `data` in pieces of `piece` bytes, as the writer functions make it.
inline std::string encode_chunked(std::string_view data, size_t piece, std::string_view trailers) {
  std::string out;
  while (!data.empty()) {
    auto n = std::min(piece, data.size());
    sg::http::append_chunk_header(out, n);
    out.append(data.substr(0, n));
    sg::http::append_chunk_end(out);
    data.remove_prefix(n);
  }
  sg::http::append_last_chunk(out, trailers);
  return out;
}

}  // namespace fuzz
