// The client library (client/) against a real sgd and real test nodes: a JSON round trip,
// typed errors (sgd's own and a node's), per-call timeouts, the async forms (future, callback,
// Asio co_await) and cancellation (std::stop_token, Asio cancellation slot).
// Built only once integration_tests links sg_client (see tests/CMakeLists.txt).
#if __has_include(<sgd/client/server_group_client.hpp>)
#include <sgd/client/asio.hpp>
#include <sgd/client/server_group_client.hpp>

#include "tests/support/admin_helpers.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;
using sg::client::errc;
using sg::client::ServerGroupClient;

}  // namespace

TEST_CASE("client: post round-trips JSON through sgd to a node and back", "[client]") {
  sgd_instance sgd;
  test_node_process node("ai-node-01");
  add_node(sgd, "inference-cluster", node, "healthy", "");
  ServerGroupClient client(proxy_url(sgd));

  const std::string body = R"({"prompt":"Summarize the following...","maxTokens":512})";
  sg::client::call_options opts;
  opts.headers = {{"X-Session-Id", "tenant-7"}};
  auto r = client.post("inference-cluster", "/infer", body, opts);
  INFO(describe(r));
  REQUIRE(r.ok());
  const auto& d = r.value();
  REQUIRE(d.IsObject());
  CHECK(str_field(d, "node") == "ai-node-01");
  CHECK(str_field(d, "method") == "POST");
  CHECK(str_field(d, "path") == "/infer");
  CHECK(d["bodyBytes"].GetUint64() == body.size());
  CHECK(str_field(d["headers"], "content-type") == "application/json");
  CHECK(str_field(d["headers"], "x-session-id") == "tenant-7");

  // A rapidjson value as the body, a query string, an endpoint without the leading slash.
  rapidjson::Document req(rapidjson::kObjectType);
  req.AddMember("prompt", "hi", req.GetAllocator());
  auto r2 = client.post("inference-cluster", "v1/infer?model=small", req);
  INFO(describe(r2));
  REQUIRE(r2.ok());
  CHECK(str_field(r2.value(), "path") == "/v1/infer");
  CHECK(str_field(r2.value(), "query") == "model=small");

  // Calls reuse a pooled keep-alive connection.
  for (int i = 0; i < 5; ++i) REQUIRE(client.post("inference-cluster", "/infer", "{}").ok());
  auto ctl = client.controllers();
  REQUIRE(ctl.size() == 1);
  CHECK(ctl[0].idle_connections == 1);
  CHECK_FALSE(ctl[0].down);
  CHECK(node.requests_served() == 7);
}

TEST_CASE("client: errors are typed: sgd's error body, a node's status, bad arguments",
          "[client]") {
  sgd_instance sgd;
  test_node_process node("n1");
  add_node(sgd, "inference-cluster", node, "healthy", "");
  ServerGroupClient client(proxy_url(sgd));

  auto r = client.post("inference-cluster-x", "/infer", "{}");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == errc::http_status);
  CHECK(r.error().status == 404);
  CHECK(r.error().code == "group_not_found");
  CHECK(r.error().message == "no group named 'inference-cluster-x'");
  CHECK(r.error().what() == "404 group_not_found: no group named 'inference-cluster-x'");
  CHECK(r.error().controller == proxy_url(sgd));

  // A group without nodes: sgd's 503 (the only controller, so it is returned as is).
  REQUIRE(sgd.admin("PUT", "/api/server-groups/empty", "{}").status == 201);
  auto e = client.post("empty", "/infer", "{}");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().status == 503);
  CHECK(e.error().code == "no_routable_node");
  CHECK(e.error().retry_after == 1);

  // The node's own error status comes back with its body (no sgd error code).
  node.set_status(500);
  auto n = client.post("inference-cluster", "/infer", "{}");
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().kind == errc::http_status);
  CHECK(n.error().status == 500);
  CHECK(n.error().code.empty());
  CHECK(n.error().body.find("\"node\":\"n1\"") != std::string::npos);
  node.reset();

  // send(): any status is an answer, not an error.
  auto s = client.send("GET", "inference-cluster-x", "/x");
  REQUIRE(s.ok());
  CHECK(s->status == 404);
  CHECK(s->header("content-type") == "application/json");

  // Nothing is sent for bad arguments.
  auto before = node.requests_served();
  auto bad_group = client.post("bad group", "/infer", "{}");
  REQUIRE_FALSE(bad_group.ok());
  CHECK(bad_group.error().kind == errc::invalid_argument);
  auto bad_json = client.post("inference-cluster", "/infer", "{not json");
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.error().kind == errc::invalid_argument);
  auto bad_endpoint = client.post("inference-cluster", "/in fer", "{}");
  REQUIRE_FALSE(bad_endpoint.ok());
  CHECK(bad_endpoint.error().kind == errc::invalid_argument);
  CHECK(node.requests_served() == before);

  CHECK_THROWS_AS(ServerGroupClient("ftp://x"), std::invalid_argument);
  CHECK_THROWS_AS(ServerGroupClient(std::vector<std::string>{}), std::invalid_argument);
}

TEST_CASE("client: a per-call timeout ends a slow call with a timeout error", "[client]") {
  sgd_instance sgd;
  test_node_process node("slow");
  add_node(sgd, "inference-cluster", node, "healthy", "");
  ServerGroupClient client(proxy_url(sgd));

  sg::client::call_options opts;
  opts.timeout = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = client.post("inference-cluster", "/slow?ms=2000", "{}", opts);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r.ok());
  INFO(r.error().what());
  CHECK(r.error().kind == errc::timeout);
  CHECK(took >= 290ms);
  CHECK(took < 1500ms);
  CHECK(r.error().message.find("300 ms") != std::string::npos);

  // The client is fine afterwards, and the default timeout lets the same call finish.
  auto ok = client.post("inference-cluster", "/slow?ms=200", "{}");
  INFO(describe(ok));
  CHECK(ok.ok());
  // A timed-out call is never retried elsewhere: the node saw each request once.
  CHECK(node.requests_served() == 2);
}

TEST_CASE("client: async forms: futures, callbacks and Asio co_await", "[client]") {
  sgd_instance sgd;
  test_node_process node("async");
  add_node(sgd, "inference-cluster", node, "healthy", "");
  sg::client::client_options copts;
  copts.io_threads = 2;
  ServerGroupClient client(proxy_url(sgd), copts);

  // Many futures at once.
  std::vector<std::future<ServerGroupClient::json_result>> futures;
  for (int i = 0; i < 24; ++i)
    futures.push_back(client.post_async("inference-cluster", "/infer",
                                        R"({"i":)" + std::to_string(i) + "}"));
  for (auto& f : futures) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    auto r = f.get();
    INFO(describe(r));
    CHECK(r.ok());
  }

  // A callback, on the client's I/O thread; a sync call from there is refused, not deadlocked.
  std::promise<std::pair<std::string, bool>> p;
  client.post_async("inference-cluster", "/cb", "{}", {},
                    [&](ServerGroupClient::json_result r) {
                      auto nested = client.post("inference-cluster", "/x", "{}");
                      bool refused = !nested.ok() && nested.error().kind == errc::invalid_argument;
                      p.set_value(
                          {r.ok() ? str_field(r.value(), "path") : r.error().what(), refused});
                    });
  auto f = p.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  auto [path, refused] = f.get();
  CHECK(path == "/cb");
  CHECK(refused);

  // co_await on the caller's own io_context; the handler runs on that executor.
  namespace asio = boost::asio;
  asio::io_context ioc;
  std::string co_path;
  bool on_caller_thread = false;
  auto caller = std::this_thread::get_id();
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto r = co_await sg::client::async_post(client, "inference-cluster", "/co", "{}", {},
                                                 asio::use_awaitable);
        on_caller_thread = std::this_thread::get_id() == caller;
        co_path = r ? str_field(r.value(), "path") : r.error().what();
      },
      asio::detached);
  ioc.run_for(10s);
  CHECK(co_path == "/co");
  CHECK(on_caller_thread);
}

TEST_CASE("client: cancellation through a stop token and an Asio cancellation slot",
          "[client]") {
  sgd_instance sgd;
  test_node_process node("cancel");
  add_node(sgd, "inference-cluster", node, "healthy", "");
  ServerGroupClient client(proxy_url(sgd));

  std::stop_source stop;
  sg::client::call_options opts;
  opts.stop = stop.get_token();
  auto t0 = std::chrono::steady_clock::now();
  auto f = client.post_async("inference-cluster", "/slow?ms=3000", "{}", opts);
  REQUIRE(wait_until([&] { return node.in_flight() == 1; }, 5s));
  stop.request_stop();
  REQUIRE(f.wait_for(2s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == errc::cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);

  // Already stopped: nothing is sent.
  auto before = node.requests_served();
  auto r2 = client.post("inference-cluster", "/infer", "{}", opts);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().kind == errc::cancelled);
  CHECK(node.requests_served() == before);

  // Asio: race the call against a timer; the timer wins and the call is cancelled.
  namespace asio = boost::asio;
  using namespace asio::experimental::awaitable_operators;
  asio::io_context ioc;
  int winner = -1;
  auto t1 = std::chrono::steady_clock::now();
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
        auto v = co_await (sg::client::async_post(client, "inference-cluster", "/slow?ms=3000",
                                                  "{}", {}, asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
        winner = static_cast<int>(v.index());
      },
      asio::detached);
  ioc.run_for(10s);
  CHECK(winner == 1);
  CHECK(std::chrono::steady_clock::now() - t1 < 2500ms);
  // Let the node finish the abandoned slow request before the next part counts in-flight.
  CHECK(wait_until([&] { return node.in_flight() == 0; }, 5s));

  // Destroying the client cancels what is still running.
  std::future<ServerGroupClient::json_result> pending;
  {
    ServerGroupClient short_lived(proxy_url(sgd));
    pending = short_lived.post_async("inference-cluster", "/slow?ms=3000", "{}");
    REQUIRE(wait_until([&] { return node.in_flight() >= 1; }, 5s));
  }
  REQUIRE(pending.wait_for(1s) == std::future_status::ready);
  auto r3 = pending.get();
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().kind == errc::cancelled);
}

#endif  // __has_include(<sgd/client/server_group_client.hpp>)
