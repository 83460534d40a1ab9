#include "http/upstream.hpp"

#include "http/resolve.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/verify_mode.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <optional>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t max_idle_per_node = 64;
constexpr auto max_idle_age = std::chrono::seconds(60);
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// True when the peer has not closed the connection and sent nothing unexpected.
bool still_open(upstream_conn& c) {
  char byte;
  auto fd = c.tcp().socket().native_handle();
  auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

plain_stream& upstream_conn::tcp() {
  if (auto* p = std::get_if<plain_stream>(&stream)) return *p;
  return beast::get_lowest_layer(std::get<tls_stream>(stream));
}

std::string make_client_tls(const std::string& ca_file, std::shared_ptr<asio::ssl::context>& out) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return "cannot load the system CA certificates: " + ec.message();
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) return "cannot load CA file '" + ca_file + "': " + ec.message();
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  out = std::move(ctx);
  return {};
}

bool set_tls_peer(SSL* ssl, const std::string& host, bool is_ip) {
  return !is_ip ? SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
                      SSL_set1_host(ssl, host.c_str()) == 1
                : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
}

asio::awaitable<connect_result> connect_upstream(const url_parts& base,
                                                 std::chrono::milliseconds timeout,
                                                 asio::ssl::context* tls) {
  auto ex = co_await asio::this_coro::executor;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  connect_result out;
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(base.host, ec);
  bool is_ip = !ec;
  if (is_ip) {
    endpoints.emplace_back(addr, base.port);
  } else {
    tcp::resolver resolver{ex};
    asio::steady_timer timer{ex, deadline};
    auto [rec, results] = co_await async_resolve_within(resolver, timer, base.host,
                                                        std::to_string(base.port), tuple_awaitable);
    if (rec) {
      out.timed_out = rec == asio::error::timed_out;
      out.error = "cannot resolve " + base.host + ": " +
                  (out.timed_out ? std::string("timed out") : rec.message());
      co_return out;
    }
    for (auto& r : results) endpoints.push_back(r.endpoint());
  }
  plain_stream stream{ex};
  stream.expires_at(deadline);  // what is left of `timeout` after resolving
  auto [cec, ep] = co_await stream.async_connect(endpoints, tuple_awaitable);
  if (cec) {
    out.timed_out = cec == beast::error::timeout;
    out.error =
        "connect to " + base.host + ":" + std::to_string(base.port) + " failed: " + cec.message();
    co_return out;
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (!base.tls) {
    stream.expires_never();
    out.conn = std::make_unique<upstream_conn>(upstream_conn{std::move(stream)});
    co_return out;
  }
  if (!tls) {
    out.error = "https node but TLS is not configured";
    co_return out;
  }
  tls_stream ts{std::move(stream), *tls};
  // Verify the certificate names this node: an IP literal must be in its IP SANs (and is not
  // sent as SNI), a host name must match and goes out as SNI.
  if (!set_tls_peer(ts.native_handle(), base.host, is_ip)) {
    out.error = "cannot set TLS host name " + base.host;
    co_return out;
  }
  auto [hec] = co_await ts.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
  if (hec) {
    out.timed_out = hec == beast::error::timeout;
    out.error = "TLS handshake with " + base.host + ":" + std::to_string(base.port) +
                " failed: " + hec.message();
    co_return out;
  }
  beast::get_lowest_layer(ts).expires_never();
  out.conn = std::make_unique<upstream_conn>(upstream_conn{std::move(ts)});
  co_return out;
}

upstream_pool& upstream_pool::this_thread() {
  thread_local upstream_pool pool;
  return pool;
}

std::unique_ptr<upstream_conn> upstream_pool::take(const std::string& node_id,
                                                   const std::string& base_url) {
  auto it = idle_.find(node_id);
  if (it == idle_.end()) return nullptr;
  if (it->second.base_url != base_url) {  // the node moved: its old connections are closed
    idle_.erase(it);
    return nullptr;
  }
  auto& v = it->second.conns;
  auto now = std::chrono::steady_clock::now();
  while (!v.empty()) {
    auto c = std::move(v.back());
    v.pop_back();
    if (now - c->idle_since < max_idle_age && still_open(*c)) return c;
  }
  return nullptr;
}

void upstream_pool::give(const std::string& node_id, const std::string& base_url,
                         std::unique_ptr<upstream_conn> conn) {
  conn->idle_since = std::chrono::steady_clock::now();
  auto& list = idle_[node_id];
  if (list.base_url != base_url) {
    list.conns.clear();
    list.base_url = base_url;
  }
  auto& v = list.conns;
  if (v.size() >= max_idle_per_node) v.erase(v.begin());  // drop the oldest
  v.push_back(std::move(conn));
  // Now and then close what went stale (removed nodes' connections).
  if (++gives_ % 4096 == 0) {
    auto now = std::chrono::steady_clock::now();
    for (auto i = idle_.begin(); i != idle_.end();) {
      auto& conns = i->second.conns;
      std::erase_if(conns, [&](auto& c) { return now - c->idle_since >= max_idle_age; });
      i = conns.empty() ? idle_.erase(i) : std::next(i);
    }
  }
}

}  // namespace sg::http
