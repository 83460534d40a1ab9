// Errors and results of the sgd client library: every call returns result<T>, which holds
// either the value or a call_error (what went wrong, and for HTTP answers the status and
// sgd's {"error":{"code","message"}}). No call throws for network or HTTP trouble.
//
//   auto r = client.post("inference-cluster", "/infer", R"({"prompt":"hi"})");
//   if (!r) std::cerr << r.error().what() << '\n';   // "404 group_not_found: no group named ..."
//   else    use(r.value());
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sg::client {

enum class errc {
  http_status,       // an HTTP answer of 4xx/5xx: status, code and message are filled
  timeout,           // the call's deadline passed; the request may have been processed
  cancelled,         // the caller cancelled (stop token / cancellation slot) or the client closed
  unreachable,       // no controller accepted a connection: the request was never sent
  connection_lost,   // the connection failed after the request went out: it may have run
  bad_response,      // the answer was not HTTP, too large, or (post) not JSON
  invalid_argument,  // a bad group name, endpoint, URL or request JSON: nothing was sent
};

// "http_status", "timeout", ...
const char* to_string(errc e);

struct call_error {
  errc kind = errc::bad_response;
  int status = 0;          // HTTP status for http_status (also set when a body came with it)
  std::string code;        // sgd's error.code ("group_not_found", ...) or "" if the body had none
  std::string message;     // sgd's error.message, or a description of the failure
  std::string controller;  // the controller URL the final attempt went to ("" if none)
  std::string body;        // the raw answer body (http_status / bad_response), at most 64 KiB
  int retry_after = 0;     // Retry-After seconds of a 503, 0 if absent

  // One line: "404 group_not_found: no group named 'x'", "timeout: no answer within 300 ms".
  std::string what() const;
};

template <class T>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(call_error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Only when ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Only when !ok().
  const call_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, call_error> v_;
};

}  // namespace sg::client
