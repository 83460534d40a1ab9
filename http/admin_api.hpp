#pragma once
// The admin REST API: turns HTTP requests into registry messages (each with a timeout) and the
// replies into status codes and JSON. It holds no registry state of its own.
#include "cluster/registry_api.hpp"
#include "http/error_reply.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <functional>
#include <optional>
#include <string>

namespace sg::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;

struct admin_config {
  std::string controller_id;
  std::string admin_address;
  std::string proxy_address;
  std::string data_dir;
  std::string token;                                       // empty: no authentication
  std::function<std::string(bool draining)> metrics_text;  // body of GET /metrics; empty: 404
};

class admin_api {
 public:
  admin_api(caf::actor_system& sys, registry_api registry, caf::actor events, admin_config cfg);
  boost::asio::awaitable<response> handle(const request& req);

  // True for GET /api/events, which the session turns into a stream; `denied` is set when the
  // request may not have it (auth).
  bool is_event_stream(const request& req, std::optional<response>& denied) const;
  caf::actor_system& system() { return sys_; }
  const caf::actor& events() const { return events_; }

 private:
  struct route;
  boost::asio::awaitable<response> dispatch(const request& req, const route& r);
  bool authorized(const request& req) const;

  caf::actor_system& sys_;
  registry_api registry_;
  caf::actor events_;
  admin_config cfg_;
};

}  // namespace sg::http
