#include "http/error_reply.hpp"

#include "actors/errors.hpp"
#include "http/header_policy.hpp"
#include "metrics/log.hpp"

#include <boost/beast/http/field.hpp>
#include <caf/sec.hpp>

namespace sg::http {

namespace bhttp = boost::beast::http;

std::string error_body(std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"code\":\"";
  log::append_json_escaped(body, code);
  body += "\",\"message\":\"";
  log::append_json_escaped(body, message);
  body += "\"}}";
  return body;
}

response error_response(status st, std::string_view code, std::string_view message,
                        unsigned version, bool keep_alive) {
  response res{st, version};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = error_body(code, message);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

void write_error_answer(std::string& out, status st, std::string_view code,
                        std::string_view message, unsigned version, bool keep_alive,
                        bool head_request, int retry_after) {
  auto body = error_body(code, message);
  out.clear();
  auto reason = bhttp::obsolete_reason(st);
  append_status_line(out, version, static_cast<unsigned>(st), {reason.data(), reason.size()});
  append_field(out, "Content-Type", "application/json");
  append_field(out, "Content-Length", std::to_string(body.size()));
  if (retry_after > 0) append_field(out, "Retry-After", std::to_string(retry_after));
  if (keep_alive != (version >= 11))
    append_field(out, "Connection", keep_alive ? "keep-alive" : "close");
  out.append("\r\n", 2);
  if (!head_request) out += body;
}

response error_response(const caf::error& err, unsigned version, bool keep_alive) {
  if (is_sg_error(err)) {
    auto code = code_of(err);
    auto st = status::internal_server_error;
    switch (code) {
      case sg_errc::invalid_argument:
        st = status::bad_request;
        break;
      case sg_errc::group_not_found:
      case sg_errc::node_not_found:
        st = status::not_found;
        break;
      case sg_errc::conflict:
        st = status::conflict;
        break;
      case sg_errc::storage_failed:
        st = status::service_unavailable;
        break;
      case sg_errc::unavailable:
      case sg_errc::clock_skew:
        st = status::service_unavailable;
        break;
      case sg_errc::ok:
        break;
    }
    return error_response(st, to_string(code), message_of(err), version, keep_alive);
  }
  if (err == caf::sec::request_timeout)
    return error_response(status::gateway_timeout, "timeout",
                          "the controller did not answer in time", version, keep_alive);
  log::warn("actor request failed", {{"error", caf::to_string(err)}});
  return error_response(status::service_unavailable, "unavailable",
                        "the controller could not handle the request", version, keep_alive);
}

}  // namespace sg::http
