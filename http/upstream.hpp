#pragma once
// Connections to nodes: plain TCP or TLS (certificate verification, SNI, host name check), and a
// per-thread keep-alive pool of idle ones keyed by what they were opened for: the node id and
// its baseUrl. A node re-registered at another address (or scheme) never gets an old connection;
// those are closed. Every pooled connection is checked before reuse: closed by the node, or
// holding bytes nobody asked for, it is closed instead.
#include "actors/url.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace sg::http {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct upstream_conn {
  std::variant<plain_stream, tls_stream> stream;
  std::chrono::steady_clock::time_point idle_since{};
  plain_stream& tcp();
};

// The stream reads and writes go through: the bare socket for plain TCP (timeouts are
// io_deadline's, not Beast's per-operation timer), the TLS stream as it is.
inline boost::asio::ip::tcp::socket& raw(plain_stream& s) {
  return s.socket();
}
inline tls_stream& raw(tls_stream& s) {
  return s;
}

// The client TLS context for https nodes: system CAs, plus `ca_file` if not empty. "" or error.
std::string make_client_tls(const std::string& ca_file,
                            std::shared_ptr<boost::asio::ssl::context>& out);

// Makes a TLS handshake check that the node's certificate names `host` (an IP literal must be in
// its IP SANs and is not sent as SNI; a host name must match and goes out as SNI). False when
// OpenSSL refused the name.
bool set_tls_peer(SSL* ssl, const std::string& host, bool is_ip);

struct connect_result {
  std::unique_ptr<upstream_conn> conn;
  std::string error;  // why connecting failed
  bool timed_out = false;
};

// Resolves, connects and (for https) handshakes within `timeout`, all of it: a DNS server that
// never answers fails the connect at the deadline.
boost::asio::awaitable<connect_result> connect_upstream(const url_parts& base,
                                                        std::chrono::milliseconds timeout,
                                                        boost::asio::ssl::context* tls);

// Idle connections per node on this thread. Bounded: 64 idle per node, 60 s idle at most.
class upstream_pool {
 public:
  static upstream_pool& this_thread();
  // An idle connection opened for `base_url` (one recv checks it); nullptr when there is none.
  std::unique_ptr<upstream_conn> take(const std::string& node_id, const std::string& base_url);
  // Closes the node's idle connections (it closed one: it restarted or timed them out).
  void drop(const std::string& node_id) { idle_.erase(node_id); }
  void give(const std::string& node_id, const std::string& base_url,
            std::unique_ptr<upstream_conn> conn);
  // Closes every idle connection; called on each I/O thread before its io_context goes away.
  void clear() { idle_.clear(); }

 private:
  struct idle_list {
    std::string base_url;  // what every connection in `conns` was opened for
    std::vector<std::unique_ptr<upstream_conn>> conns;
  };
  std::unordered_map<std::string, idle_list> idle_;
  size_t gives_ = 0;
};

}  // namespace sg::http
