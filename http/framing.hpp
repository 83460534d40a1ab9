#pragma once
// How long a message body is (RFC 9112 §6.3), decided from a parsed header in one place for both
// directions, and the chunked coding (§7.1) read and written. A request whose framing is
// ambiguous is refused (400), an answer's is refused (502) or normalised where the RFC lets an
// intermediary do so; the chunked reader checks every byte and bounds chunk lines and trailers.
#include "http/message_head.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sg::http {

enum class body_kind {
  none,         // no body
  length,       // exactly `length` bytes
  chunked,      // the chunked coding
  until_close,  // an answer that ends when the node closes
};

struct framing {
  body_kind kind = body_kind::none;
  uint64_t length = 0;
  bool suspicious = false;  // normalised (TE with CL): the connection is not reused after it
  unsigned refusal = 400;   // with an error: the status a request gets (501: coding not served)
};

// A request's framing; nullptr or why it is refused (out.refusal: 400, or 501 for a transfer
// coding other than chunked, RFC 9112 §6.1).
const char* request_framing(const message_head& h, framing& out);

// An answer's framing for a request of method HEAD or not; nullptr or why it is refused (502).
// 1xx, 204, 304 and answers to HEAD have no body whatever their fields say.
const char* response_framing(const message_head& h, bool head_request, framing& out);

// Reads the chunked coding incrementally. feed() takes what is buffered and reports the chunk
// data in it through on_data(view) (views into the input); the trailer section is collected
// (bounded) for the writer.
class chunked_reader {
 public:
  explicit chunked_reader(size_t trailer_limit = 64 * 1024) : trailer_limit_(trailer_limit) {}

  // Consumes bytes from `in`; returns how many. Stops at the end of the message or at an error.
  template <class F>
  size_t feed(std::string_view in, F&& on_data) {
    size_t i = 0;
    while (i < in.size() && state_ != st::done && !error_) {
      if (state_ == st::data) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left_, in.size() - i));
        on_data(in.substr(i, n));
        i += n;
        left_ -= n;
        if (left_ == 0) state_ = st::data_cr;
        continue;
      }
      step(static_cast<unsigned char>(in[i++]));
    }
    return i;
  }
  bool done() const { return state_ == st::done; }
  const char* error() const { return error_; }
  // The trailer field lines (each with its CRLF), once done().
  std::string_view trailers() const { return trailers_; }
  uint64_t chunk_left() const { return left_; }

 private:
  enum class st { size, ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf, done };
  void step(unsigned char c);

  st state_ = st::size;
  uint64_t left_ = 0;
  unsigned digits_ = 0;
  size_t line_ = 0;  // bytes of the current chunk line (extensions are bounded)
  bool last_ = false;
  std::string trailers_;
  size_t trailer_limit_;
  const char* error_ = nullptr;
};

// The chunked coding written: a chunk's header ("1a\r\n"), its end, and the last chunk with
// trailers.
void append_chunk_header(std::string& out, size_t size);
inline void append_chunk_end(std::string& out) {
  out.append("\r\n", 2);
}
void append_last_chunk(std::string& out, std::string_view trailers);

}  // namespace sg::http
