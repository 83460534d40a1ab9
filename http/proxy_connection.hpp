#pragma once
// One client connection of the proxy, split by concept over three files:
//   proxy_session.cpp   the connection loop: read a request head, check it (framing, Host,
//                       target, Via loop), answer sgd's own errors, pipelining, the
//                       connection cap, and no exception ever leaves a session
//   proxy_pick.cpp      the group's snapshot, metadata filter, strategy pick, connect with
//                       failover: a chosen node and connection, or a rejection
//   proxy_exchange.cpp  one exchange with the node: the request head and body out, interim
//                       answers, an upgrade's tunnel, the answer relayed back
// The header rules are header_policy's, the framing rules framing's and the body copy relay's,
// in both directions.
#include "actors/routing_table.hpp"
#include "http/error_reply.hpp"
#include "http/framing.hpp"
#include "http/io_deadline.hpp"
#include "http/message_head.hpp"
#include "http/proxy.hpp"
#include "http/request_target.hpp"
#include "http/upstream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <memory>
#include <string>

namespace sg::http {

// What the exchange needs of the client's request once its head is checked.
struct client_request {
  message_head head;  // views into the connection's read buffer until consumed
  route_target route;
  framing body;
  bool head_method = false;
  bool keep_alive = true;
  bool expect_continue = false;
  bool upgrade = false;          // asks to switch protocols (HTTP/1.1, Connection: upgrade)
  bool replayable = false;       // no body and an idempotent method: may go out twice
  bool head_consumed = false;    // the head's bytes are gone from the read buffer
  std::string_view client_host;  // for X-Forwarded-Host
};

class proxy_connection {
 public:
  proxy_connection(tcp::socket sock, std::shared_ptr<proxy_context> ctx);
  boost::asio::awaitable<void> run();

 private:
  // proxy_session.cpp
  boost::asio::awaitable<bool> serve_one();
  boost::asio::awaitable<void> send_error(status st, std::string_view code, std::string_view msg,
                                          bool keep_alive, int retry_after = 0);
  // Answers without forwarding; the connection stays open only when no body is left unread.
  boost::asio::awaitable<bool> reject(status st, std::string_view code, std::string_view msg,
                                      int retry_after = 0);

  // proxy_pick.cpp
  boost::asio::awaitable<bool> handle();

  // proxy_exchange.cpp. `replay_if_stale`: a pooled connection the node had closed sets stale_
  // instead of answering 502, and handle() tries again on a fresh one.
  template <class Stream>
  boost::asio::awaitable<bool> exchange(const group_snapshot& snap, const routed_node& node,
                                        std::unique_ptr<upstream_conn>& conn, Stream& up,
                                        bool replay_if_stale);
  boost::asio::awaitable<bool> forward(const group_snapshot& snap, const routed_node& node,
                                       std::unique_ptr<upstream_conn>& conn, bool replay);
  boost::asio::awaitable<bool> upstream_failed(const group_snapshot& snap, const routed_node& node,
                                               boost::system::error_code ec,
                                               std::string_view what = {});
  void keep_connection(const routed_node& node, std::unique_ptr<upstream_conn>& conn);
  void consume_head();

  boost::beast::tcp_stream client_;
  std::shared_ptr<proxy_context> ctx_;
  std::shared_ptr<io_deadline> dl_;  // every read and write is bounded through it
  boost::beast::flat_buffer cbuf_;   // the client's bytes (heads, bodies, pipelined requests)
  boost::beast::flat_buffer ubuf_;   // the node's bytes, reused for every answer
  client_request req_;
  message_head answer_;
  std::string reqbuf_;  // the request head (and small bodies) for the node
  std::string hbuf_;    // what goes to the client
  std::string target_;  // the node's target
  std::string host_;    // the node's Host
  std::string client_ip_;
  bool counted_ = false;   // this request counts in ctx_->active
  bool stale_ = false;     // exchange() found its pooled connection closed by the node
  bool answered_ = false;  // something of an answer reached the client
  bool linger_ = false;    // sgd chose to close: drain what the client still sends first
};

}  // namespace sg::http
