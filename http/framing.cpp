#include "http/framing.hpp"

namespace sg::http {

const char* request_framing(const message_head& h, framing& out) {
  out = {};
  if (h.has_te) {
    // RFC 9112 §6.1: TE in HTTP/1.0 is faulty framing; §6.3: a final coding other than chunked
    // cannot be delimited; TE with CL is how requests are smuggled (refused, as nginx and Envoy
    // do, rather than normalised).
    if (h.version < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    if (h.te_malformed) return "malformed Transfer-Encoding";
    if (!h.te_final_chunked) return "Transfer-Encoding whose final coding is not chunked";
    if (h.chunked_codings > 1) return "Transfer-Encoding names chunked more than once";
    if (h.content_lengths) return "both Transfer-Encoding and Content-Length";
    if (h.te_other) {
      out.refusal = 501;
      return "a transfer coding other than chunked (only chunked is implemented)";
    }
    out.kind = body_kind::chunked;
    return nullptr;
  }
  if (h.content_lengths) {
    if (h.length_conflict) return "invalid or conflicting Content-Length";
    if (h.content_length) {
      out.kind = body_kind::length;
      out.length = h.content_length;
    }
  }
  return nullptr;
}

const char* response_framing(const message_head& h, bool head_request, framing& out) {
  out = {};
  if (h.has_te && h.version < 11) return "Transfer-Encoding in an HTTP/1.0 answer";
  if (h.has_te && h.te_malformed) return "malformed Transfer-Encoding";
  if (h.has_te && (!h.te_final_chunked || h.chunked_codings > 1))
    return "Transfer-Encoding whose final coding is not chunked";
  if (h.has_te && h.te_other) return "a transfer coding other than chunked";
  if (h.content_lengths && h.length_conflict && !h.has_te)
    return "invalid or conflicting Content-Length";
  if (head_request || h.status < 200 || h.status == 204 || h.status == 304) return nullptr;
  if (h.has_te) {
    // §6.3: chunked overrides Content-Length; the length is dropped on the way (§6.1) and the
    // connection is closed after this answer, since the node's framing cannot be trusted.
    out.kind = body_kind::chunked;
    out.suspicious = h.content_lengths > 0;
    return nullptr;
  }
  if (h.content_lengths) {
    out.kind = h.content_length ? body_kind::length : body_kind::none;
    out.length = h.content_length;
    return nullptr;
  }
  out.kind = body_kind::until_close;
  return nullptr;
}

namespace {
constexpr size_t max_chunk_line = 4096;  // size, extensions and CRLF
int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void chunked_reader::step(unsigned char c) {
  switch (state_) {
    case st::size: {
      int v = hex_value(c);
      if (v >= 0) {
        if (++digits_ > 16) error_ = "chunk size too large";
        left_ = left_ << 4 | static_cast<uint64_t>(v);
        ++line_;
        return;
      }
      if (digits_ == 0) {
        error_ = "invalid chunk size";
        return;
      }
      state_ = st::ext;
      [[fallthrough]];
    }
    case st::ext:
      // chunk-ext: ";" name ["=" value], BWS allowed; any visible byte, SP or HTAB up to CR.
      if (++line_ > max_chunk_line) {
        error_ = "chunk extensions too long";
      } else if (c == '\r') {
        state_ = st::size_lf;
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        error_ = "invalid byte in a chunk line";
      } else if (line_ == digits_ + 1 && c != ';' && c != ' ' && c != '\t') {
        error_ = "invalid chunk size";
      }
      return;
    case st::size_lf:
      if (c != '\n') {
        error_ = "chunk line not ended by CRLF";
        return;
      }
      digits_ = 0;
      line_ = 0;
      if (left_ == 0) {
        last_ = true;
        state_ = st::trailer;
      } else {
        state_ = st::data;
      }
      return;
    case st::data:
      return;  // feed() handles data in bulk
    case st::data_cr:
      if (c != '\r') error_ = "chunk data not followed by CRLF";
      state_ = st::data_lf;
      return;
    case st::data_lf:
      if (c != '\n') error_ = "chunk data not followed by CRLF";
      state_ = st::size;
      return;
    case st::trailer:
      if (c == '\r') {
        state_ = st::trailer_lf;
        return;
      }
      if (c == '\n') {
        error_ = "a bare LF in the trailer section";
        return;
      }
      if (trailers_.size() >= trailer_limit_) {
        error_ = "trailer section too large";
        return;
      }
      trailers_ += static_cast<char>(c);
      ++line_;
      return;
    case st::trailer_lf:
      if (c != '\n') {
        error_ = "trailer line not ended by CRLF";
        return;
      }
      if (line_ == 0) {  // the empty line: end of the message
        if (auto err = check_field_lines(trailers_)) error_ = err;
        state_ = st::done;
        return;
      }
      if (trailers_.size() + 2 > trailer_limit_) {
        error_ = "trailer section too large";
        return;
      }
      trailers_.append("\r\n", 2);
      line_ = 0;
      state_ = st::trailer;
      return;
    case st::done:
      return;
  }
}

void append_chunk_header(std::string& out, size_t size) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[size & 15];
    size >>= 4;
  } while (size);
  while (n) out += buf[--n];
  out.append("\r\n", 2);
}

void append_last_chunk(std::string& out, std::string_view trailers) {
  out.append("0\r\n", 3);
  out.append(trailers.data(), trailers.size());
  out.append("\r\n", 2);
}

}  // namespace sg::http
