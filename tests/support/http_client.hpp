// Blocking HTTP/1.1 client for integration tests (Beast underneath, kept out of this header).
// Every call has a deadline; failures come back in http_result::error, never as exceptions.
// Also: persistent connections, raw byte exchanges, streamed uploads/downloads and SSE reads.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sg::test {

using namespace std::chrono_literals;
using header_map = std::map<std::string, std::string>;

struct http_result {
  int status = 0;
  header_map headers;         // lower-cased names; repeated fields joined with ", "
  std::string body;           // empty for download(); capped at 64 MiB otherwise
  std::string error;          // non-empty if connect/write/read failed or timed out
  std::uint64_t body_bytes = 0;     // bytes of body received
  std::string body_sha256;          // SHA-256 hex of the body received
  std::uint64_t sent_bytes = 0;     // upload(): body bytes actually sent
  std::string sent_sha256;          // upload(): SHA-256 hex of what was sent
  bool got_continue = false;        // upload(): a "100 Continue" arrived before the body
  std::chrono::milliseconds elapsed{0};  // from connect to the end of the response

  bool ok() const { return error.empty() && status != 0; }
  // The header's value, or "" (name in any case).
  std::string header(const std::string& name) const;
};

// One request to http://127.0.0.1:port on a fresh connection. Sets Host and, when `body` is
// non-empty, Content-Length; `headers` override or add fields.
http_result request(const std::string& method, std::uint16_t port, const std::string& target,
                    const std::string& body = "", const header_map& headers = {},
                    std::chrono::milliseconds timeout = 10s);

// The same over TLS (no certificate verification: for self-signed test nodes).
http_result request_tls(const std::string& method, std::uint16_t port, const std::string& target,
                        const std::string& body = "", const header_map& headers = {},
                        std::chrono::milliseconds timeout = 10s);

// The body parsed as JSON (iteratively); check HasParseError() / IsObject() before use.
rapidjson::Document json(const http_result& r);
rapidjson::Document json(std::string_view text);

// Streams `bytes` pattern bytes (data_pattern.hpp: never held whole in memory) as the body,
// with Content-Length or chunked. With "Expect: 100-continue" in `headers` it sends the header,
// waits up to 1 s (like curl) for "100 Continue" or a final answer, then sends the body.
// Fills sent_bytes and sent_sha256 (== pattern_sha256(bytes) when everything went out).
http_result upload(std::uint16_t port, const std::string& target, std::uint64_t bytes,
                   const header_map& headers = {}, std::chrono::milliseconds timeout = 60s,
                   bool chunked = false, const std::string& method = "POST");

// GET whose body is hashed as it arrives and not kept: body_bytes and body_sha256 are filled.
http_result download(std::uint16_t port, const std::string& target,
                     const header_map& headers = {}, std::chrono::milliseconds timeout = 60s);

// Reads the response body incrementally, calling on_piece with each piece as it arrives and
// the time since the request was sent; return false from it to stop early (not an error).
// The returned body holds everything received (capped at 16 MiB).
using piece_callback = std::function<bool(std::string_view piece, std::chrono::milliseconds at)>;
http_result stream_events(std::uint16_t port, const std::string& target,
                          const piece_callback& on_piece, std::chrono::milliseconds timeout = 10s,
                          const header_map& headers = {});

// Raw bytes in, whatever comes back until the peer closes or the timeout passes.
struct raw_result {
  std::string received;          // capped at 16 MiB
  bool closed_by_peer = false;   // EOF or reset seen before the timeout
  bool timed_out = false;
  std::string error;             // connect/write failure, or the reset
  std::chrono::milliseconds elapsed{0};  // connect to close/timeout
};
// With shutdown_write the client half-closes after writing.
raw_result raw_exchange(std::uint16_t port, const std::string& raw_bytes,
                        std::chrono::milliseconds timeout = 5s, bool shutdown_write = false);

// A persistent (keep-alive) connection to 127.0.0.1:port, for several requests in a row.
class http_connection {
 public:
  http_connection();
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  // Connects (closing any previous connection); error text or "".
  std::string connect(std::uint16_t port, std::chrono::milliseconds timeout = 10s);
  bool is_open() const;  // false after an error or a "Connection: close" answer
  void close();

  http_result request(const std::string& method, const std::string& target,
                      const std::string& body = "", const header_map& headers = {},
                      std::chrono::milliseconds timeout = 10s);
  // Lower-level, e.g. for pipelining or hand-made requests: write raw bytes, then read one
  // response (1xx interim answers included: call again for the final one).
  std::string send_raw(const std::string& bytes, std::chrono::milliseconds timeout = 10s);
  http_result read_response(std::chrono::milliseconds timeout = 10s, bool head = false);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sg::test
