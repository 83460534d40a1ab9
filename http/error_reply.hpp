#pragma once
// Every error sgd answers over HTTP: a status and {"error":{"code","message"}}. Maps actor error
// values (sg_errc, CAF timeouts) to statuses in one place.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <caf/error.hpp>

#include <string_view>

namespace sg::http {

using response = boost::beast::http::response<boost::beast::http::string_body>;
using status = boost::beast::http::status;

// A JSON error response; `version`/`keep_alive` copied from the request.
response error_response(status st, std::string_view code, std::string_view message,
                        unsigned version = 11, bool keep_alive = true);

// The same answer as bytes for the proxy, into `out`: no body for a HEAD request (RFC 9110
// §9.3.2; Content-Length still says its size) and Retry-After when `retry_after` > 0.
void write_error_answer(std::string& out, status st, std::string_view code,
                        std::string_view message, unsigned version, bool keep_alive,
                        bool head_request, int retry_after = 0);

// The body alone: {"error":{"code":"...","message":"..."}}.
std::string error_body(std::string_view code, std::string_view message);

// The status and code for an error an actor returned.
response error_response(const caf::error& err, unsigned version, bool keep_alive);

}  // namespace sg::http
