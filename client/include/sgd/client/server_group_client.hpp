// ServerGroupClient: calls a server group through one or more sgd controllers.
//
//   sg::client::ServerGroupClient client({"http://10.0.0.5:8080", "http://10.0.0.6:8080"});
//   auto r = client.post("inference-cluster", "/infer", R"({"prompt":"hi","maxTokens":64})");
//   if (r) std::cout << r.value()["text"].GetString();
//   else   std::cerr << r.error().what();       // "503 no_routable_node: ..."
//
// Threading: the client owns one I/O thread (client_options::io_threads) running an
// io_context; every call, sync or async, runs there as a coroutine. The sync forms block the
// calling thread on a future, so they must not be called from a completion callback (which
// runs on the I/O thread). All member functions are thread-safe. Connections are kept alive
// in a small pool of idle connections per controller (mutex-guarded).
//
// Failover: controllers are tried in the order given, skipping the ones marked down. A call
// moves on to the next controller only when the request provably never ran: the connection
// was refused / could not be made, or the controller itself answered 503 or 418 with one of
// client_options::failover_codes (sgd's "no node was chosen" answers). Such a controller is
// marked down for client_options::down_for; down controllers are still tried, last, when every
// other one failed too. A timeout or a connection lost after the request was sent is returned
// to the caller as is and never retried (the request may have been processed).
#pragma once

#include "sgd/client/result.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::client {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct client_options {
  std::chrono::milliseconds timeout{30000};          // default deadline of a whole call
  std::chrono::milliseconds connect_timeout{2000};   // per connection attempt (within the deadline)
  std::chrono::milliseconds down_for{5000};          // how long a failed controller is skipped
  std::size_t max_idle_per_controller = 8;           // pooled keep-alive connections
  std::chrono::milliseconds max_idle_age{30000};     // below sgd's 60 s idle close
  std::size_t max_response_bytes = 64u << 20;        // larger answers: bad_response
  unsigned io_threads = 1;
  // 503/418 answers with these error codes mean "this controller chose no node": fail over.
  std::vector<std::string> failover_codes = {"no_routable_node", "no_matching_node", "draining"};
  header_list headers;                               // added to every request
};

struct call_options {
  std::optional<std::chrono::milliseconds> timeout;  // overrides client_options::timeout
  std::stop_token stop;                              // request_stop() cancels the call
  header_list headers;  // e.g. {"X-Session-Id","s1"}, {"X-Route-Metadata","region=eastus"}
};

// A raw HTTP answer (send()): any status, the body unparsed.
struct response {
  int status = 0;
  header_list headers;      // as received
  std::string body;
  std::string controller;   // the controller URL that answered

  // The first header of that name (any case), "" if absent.
  std::string header(std::string_view name) const;
};

struct controller_state {
  std::string url;
  bool down = false;                                  // skipped (tried last) until down_until
  std::chrono::steady_clock::time_point down_until{};
  std::string last_error;                             // why it was marked down
  std::size_t idle_connections = 0;
};

class ServerGroupClient {
 public:
  using json_result = result<rapidjson::Document>;
  using json_callback = std::function<void(json_result)>;
  using response_callback = std::function<void(result<response>)>;

  // Controller proxy URLs: "http://host:port" (a path prefix is kept). Throws
  // std::invalid_argument for an empty list or a URL that is not http://host[:port][/path].
  explicit ServerGroupClient(std::string controller_url, client_options opts = {});
  explicit ServerGroupClient(std::vector<std::string> controller_urls, client_options opts = {});
  // Cancels calls still running (they complete with errc::cancelled) and joins the I/O thread.
  // Must not run on the I/O thread (i.e. not inside a callback).
  ~ServerGroupClient();
  ServerGroupClient(const ServerGroupClient&) = delete;
  ServerGroupClient& operator=(const ServerGroupClient&) = delete;

  // POST `json` to /groups/{group}{endpoint}. A 2xx answer is parsed as JSON (an empty body
  // gives a null document); 4xx/5xx give errc::http_status with sgd's error code and message.
  json_result post(std::string_view group, std::string_view endpoint, std::string_view json,
                   const call_options& opts = {});
  json_result post(std::string_view group, std::string_view endpoint,
                   const rapidjson::Value& json, const call_options& opts = {});
  std::future<json_result> post_async(std::string_view group, std::string_view endpoint,
                                      std::string json, call_options opts = {});
  // `done` runs exactly once, on the client's I/O thread: keep it short, never block in it.
  void post_async(std::string_view group, std::string_view endpoint, std::string json,
                  call_options opts, json_callback done);

  // Any method, any body, any status: only transport failures are errors.
  result<response> send(std::string_view method, std::string_view group,
                        std::string_view endpoint, std::string body = {},
                        const call_options& opts = {});
  void send_async(std::string_view method, std::string_view group, std::string_view endpoint,
                  std::string body, call_options opts, response_callback done);

  // The controllers in the configured order, with their down marks.
  std::vector<controller_state> controllers() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// The JSON of `v` as text.
std::string to_json(const rapidjson::Value& v);

}  // namespace sg::client
