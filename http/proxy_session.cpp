#include "http/header_policy.hpp"
#include "http/proxy_connection.hpp"
#include "http/socket_io.hpp"
#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/verb.hpp>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// RFC 9112 §9.6: after an answer that closes the connection, read (and drop) what the client
// still sends, bounded in time and bytes, before closing; closing with unread bytes makes the
// kernel reset the connection, and the client may never read the answer (a 413, a 431).
asio::awaitable<void> linger_close(tcp::socket& s) {
  beast::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
  asio::steady_timer t{s.get_executor(), std::chrono::seconds(2)};
  t.async_wait([&s](const beast::error_code& e) {
    beast::error_code ignored;
    if (!e) s.cancel(ignored);
  });
  std::array<char, 16 * 1024> buf;
  for (size_t total = 0; total < (1u << 20);) {
    auto [e, n] = co_await s.async_read_some(asio::buffer(buf), tuple_awaitable);
    if (e) break;
    total += n;
  }
  t.cancel();
}

// RFC 9110 §9.2.2: safe to send twice.
bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}
}  // namespace

proxy_connection::proxy_connection(tcp::socket sock, std::shared_ptr<proxy_context> ctx)
    : client_(std::move(sock)),
      ctx_(std::move(ctx)),
      dl_(io_deadline::start(client_.get_executor())) {
  beast::error_code ec;
  auto ep = client_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
}

asio::awaitable<void> proxy_connection::run() {
  // A fresh connection carries a request: it counts before its header is read, so a graceful
  // stop does not end under it. Later requests count once their header is in.
  ctx_->active.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  for (;;) {
    bool keep = false;
    try {
      keep = co_await serve_one();
      consume_head();  // a pipelined request may follow it in the buffer
    } catch (const std::exception& e) {
      // A bug must cost one connection, never the process.
      log::error("proxy session failed", {{"error", e.what()}, {"client", client_ip_}});
    }
    if (counted_) ctx_->active.fetch_sub(1, std::memory_order_relaxed);
    counted_ = false;
    if (!keep || ctx_->stopping.load()) break;
  }
  dl_->disarm();
  if (linger_)
    co_await linger_close(client_.socket());
  else {
    beast::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  dl_->close();
}

void proxy_connection::consume_head() {
  if (req_.head_consumed) return;
  cbuf_.consume(req_.head.header_bytes);
  req_.head_consumed = true;
}

// Reads and checks one request head, then hands the request to handle(). false: close.
asio::awaitable<bool> proxy_connection::serve_one() {
  auto& h = req_.head;
  req_.head_consumed = true;  // nothing to consume until a head is parsed
  req_.head_method = false;   // errors before the head is read answer as to a GET
  answered_ = false;
  dl_->arm(client_, ctx_->header_timeout);
  head_result r;
  for (;;) {
    r = parse_request_head(buffered(cbuf_), h, ctx_->max_header_bytes);
    if (r != head_result::need_more) break;
    auto [ec, n] = co_await client_.socket().async_read_some(header_space(cbuf_), tuple_awaitable);
    auto rec = read_outcome(cbuf_, ec, n);
    if (rec == bhttp::error::partial_message) {  // closed within a header: say why, then close
      co_await send_error(status::bad_request, "bad_request", "incomplete request header", false);
      co_return false;
    }
    if (rec) co_return false;  // closed between requests, timed out, reset
  }
  req_.head_consumed = false;
  if (r == head_result::too_large) {
    co_await send_error(
        status::request_header_fields_too_large, "headers_too_large",
        "request header exceeds " + std::to_string(ctx_->max_header_bytes) + " bytes", false);
    co_return false;
  }
  if (r == head_result::invalid) {
    co_await send_error(status::bad_request, "bad_request",
                        std::string("malformed HTTP request: ") + h.error, false);
    co_return false;
  }
  if (!counted_) ctx_->active.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;

  req_.head_method = h.method == "HEAD";
  // A stopping controller says so in its answer rather than dropping what comes next.
  req_.keep_alive = h.keep_alive() && !ctx_->stopping.load(std::memory_order_relaxed);
  // Framing first: a request whose body cannot be delimited cannot be answered and kept.
  if (auto err = request_framing(h, req_.body)) {
    co_await send_error(static_cast<status>(req_.body.refusal), "bad_framing", err, false);
    co_return false;
  }
  req_.expect_continue = h.expect_continue;
  req_.upgrade = h.version >= 11 && h.conn_upgrade && h.has_upgrade;
  req_.replayable = req_.body.kind == body_kind::none && idempotent(h.method);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (h.hosts > 1 || (h.hosts == 0 && h.version >= 11))
    co_return co_await reject(status::bad_request, "bad_host",
                              h.hosts ? "more than one Host header" : "no Host header");
  if (h.hosts && !valid_host(h.find("host")))
    co_return co_await reject(status::bad_request, "bad_host", "invalid Host header value");
  const char* err = nullptr;
  auto t = parse_target(h.target, req_.route, err);
  if (t == target_result::invalid)
    co_return co_await reject(status::bad_request, "bad_target", err);
  if (t == target_result::not_routed)
    co_return co_await reject(status::not_found, "no_route",
                              "the proxy serves /groups/{group}/{endpoint...}");
  req_.client_host = req_.route.authority.empty() ? h.find("host") : req_.route.authority;
  if (!ctx_->via.empty() && via_names(h, ctx_->via))
    co_return co_await reject(status::loop_detected, "loop_detected",
                              "the request has passed through this controller already (Via '" +
                                  ctx_->via + "'): a node's baseUrl points back at sgd");
  // RFC 9110 §7.6.2: Max-Forwards 0 on OPTIONS or TRACE is answered here, not forwarded.
  if ((h.method == "OPTIONS" || h.method == "TRACE") && h.find("max-forwards") == "0") {
    if (h.method == "TRACE")  // echoing a request back (cookies and all) is not offered
      co_return co_await reject(status::method_not_allowed, "trace_not_served",
                                "sgd does not answer TRACE itself (Max-Forwards: 0)");
    static constexpr std::string_view options =
        "HTTP/1.1 200 OK\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n";
    dl_->arm(client_, ctx_->idle_timeout);
    auto [ec, n] = co_await asio::async_write(client_.socket(), asio::buffer(options), tuple_awaitable);
    co_return !ec && req_.keep_alive && req_.body.kind == body_kind::none;
  }
  co_return co_await handle();
}

asio::awaitable<void> proxy_connection::send_error(status st, std::string_view code,
                                                   std::string_view msg, bool keep_alive,
                                                   int retry_after) {
  write_error_answer(hbuf_, st, code, msg, req_.head.version ? req_.head.version : 11, keep_alive,
                     req_.head_method, retry_after);
  answered_ = true;
  linger_ = !keep_alive;  // the client may still be sending (a body, a pipelined request)
  dl_->arm(client_, ctx_->idle_timeout);
  co_await asio::async_write(client_.socket(), asio::buffer(hbuf_), tuple_awaitable);
}

asio::awaitable<bool> proxy_connection::reject(status st, std::string_view code,
                                               std::string_view msg, int retry_after) {
  bool keep = req_.keep_alive && req_.body.kind == body_kind::none;
  co_await send_error(st, code, msg, keep, retry_after);
  co_return keep;
}

asio::awaitable<void> proxy_session(tcp::socket sock, std::shared_ptr<proxy_context> ctx) {
  // The cap leaves file descriptors for the admin listener, the ping and the nodes: a
  // connection over it gets a 503 at once rather than a stall at the fd limit.
  struct count_guard {
    std::shared_ptr<proxy_context> ctx;  // owned: the session may outlive everyone else's copy
    ~count_guard() { ctx->connections.fetch_sub(1, std::memory_order_relaxed); }
  } counted{ctx};
  if (ctx->connections.fetch_add(1, std::memory_order_relaxed) >= ctx->max_connections) {
    std::string out;
    write_error_answer(out, status::service_unavailable, "too_many_connections",
                       "this controller serves " + std::to_string(ctx->max_connections) +
                           " client connections at most (--max-connections)",
                       11, false, false, 1);
    beast::error_code ec;
    send_now(sock, asio::buffer(out), ec);
    co_await linger_close(sock);
    co_return;
  }
  proxy_connection c{std::move(sock), std::move(ctx)};
  co_await c.run();
}

}  // namespace sg::http
