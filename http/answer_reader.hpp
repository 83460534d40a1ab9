#pragma once
// Reads the answer to a one-shot request incrementally, without I/O: the caller reads into
// prepare() and reports what arrived with commit() (or eof()). Interim 1xx answers are skipped
// (RFC 9110 §15.2), the head is parsed by the proxy's own strict parser and framed by its own
// rules, and at most `keep_body` bytes of the body are kept; once they are, the answer counts as
// read. Everything is bounded: a 16 KiB head, 10 interim answers, keep_body.
#include "http/framing.hpp"
#include "http/message_head.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace sg::http {

class answer_reader {
 public:
  enum class state { need_more, done, failed };
  static constexpr size_t max_head_bytes = 16 * 1024;  // HAProxy's check buffer: one 16 KiB buffer
  static constexpr int max_interim = 10;

  answer_reader(size_t keep_body, bool head_request);
  // Where the next read goes (never empty while need_more).
  char* prepare(size_t& room);
  state commit(size_t n);
  // The node closed the connection.
  state eof();

  state current() const { return state_; }
  bool in_body() const { return status_ != 0; }
  int status() const { return status_; }  // 0 until the final head is in
  const std::string& body() const { return body_; }
  const std::string& error() const { return error_; }

 private:
  state parse();
  state fail(std::string why);
  state body_from_buffer();

  size_t keep_;
  bool head_request_;
  std::string buf_;  // head bytes (and body bytes after them) not consumed yet
  size_t used_ = 0;  // of buf_
  size_t head_budget_ = max_head_bytes;
  int interim_ = 0;
  message_head head_;
  framing framing_;
  chunked_reader chunks_;
  uint64_t left_ = 0;  // body bytes to come for a Content-Length body
  int status_ = 0;
  std::string body_;
  std::string error_;
  state state_ = state::need_more;
};

}  // namespace sg::http
