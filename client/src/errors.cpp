// call_error text, response headers, api_error, to_json: the parts without any I/O.
#include "sgd/client/http_call.hpp"
#include "sgd/client/result.hpp"
#include "sgd/client/server_group_client.hpp"
#include "util.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>

namespace sg::client {

const char* to_string(errc e) {
  switch (e) {
    case errc::http_status: return "http_status";
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::unreachable: return "unreachable";
    case errc::connection_lost: return "connection_lost";
    case errc::bad_response: return "bad_response";
    case errc::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

std::string call_error::what() const {
  if (kind == errc::http_status) {
    std::string out = std::to_string(status);
    if (!code.empty()) out += " " + code;
    if (!message.empty()) out += ": " + message;
    return out;
  }
  return std::string(to_string(kind)) + ": " + message;
}

namespace {
bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}
}  // namespace

std::string response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) return v;
  return {};
}

call_error api_error(const response& r) {
  call_error e;
  e.kind = errc::http_status;
  e.status = r.status;
  e.controller = r.controller;
  e.body = detail::clip(r.body, 64 * 1024);
  if (!detail::parse_error_body(r.body, e.code, e.message)) {
    // Not sgd's error shape (e.g. a node's own error page): the reason and the body's start.
    std::string text = detail::clip(r.body, 200);
    for (auto& c : text)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    e.message = reason(r.status);
    if (!text.empty()) e.message += e.message.empty() ? text : " (" + text + ")";
  }
  auto ra = r.header("Retry-After");
  if (!ra.empty() && ra.size() < 9 &&
      ra.find_first_not_of("0123456789") == std::string::npos)
    e.retry_after = std::stoi(ra);
  return e;
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace sg::client
