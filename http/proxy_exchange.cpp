// One exchange with a chosen node: the request head (header_policy) and body (relay) out, the
// answer's head read with the group's response timeout (interim answers forwarded, bounded, not
// extending it), a 101 turned into a tunnel when the client asked to upgrade, and the answer's
// body relayed back with the framing the client gets.
#include "http/header_policy.hpp"
#include "http/proxy_connection.hpp"
#include "http/relay.hpp"
#include "http/socket_io.hpp"
#include "http/tunnel.hpp"
#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/ssl.h>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr int max_interim = 10;  // interim answers relayed per request; more is a broken node

body_field field_for(const framing& f) {
  switch (f.kind) {
    case body_kind::length:
      return {body_field::content_length, f.length};
    case body_kind::chunked:
    case body_kind::until_close:
      return {body_field::chunked, 0};
    case body_kind::none:
      break;
  }
  return {};
}

// The node closed the connection (or reset it) rather than failing to answer in time.
bool closed_by_peer(const beast::error_code& ec) {
  // A TLS node that closes an idle connection without close_notify: stream_truncated.
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::http::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

}  // namespace

asio::awaitable<bool> proxy_connection::forward(const group_snapshot& snap, const routed_node& node,
                                                std::unique_ptr<upstream_conn>& conn, bool replay) {
  // std::visit over a coroutine: the variant's alternative picks the instantiation.
  if (auto* p = std::get_if<plain_stream>(&conn->stream))
    co_return co_await exchange(snap, node, conn, *p, replay);
  co_return co_await exchange(snap, node, conn, std::get<tls_stream>(conn->stream), replay);
}

template <class Stream>
asio::awaitable<bool> proxy_connection::exchange(const group_snapshot& snap,
                                                 const routed_node& node,
                                                 std::unique_ptr<upstream_conn>& conn, Stream& up,
                                                 bool replay_if_stale) {
  using up_stream = std::remove_reference_t<decltype(raw(up))>;
  auto& tcp = conn->tcp();
  auto& h = req_.head;
  const unsigned client_version = h.version;
  const bool head_method = req_.head_method;
  auto response_timeout = std::chrono::milliseconds(snap.spec.response_timeout_ms);

  // The request head for this node. Its views into cbuf_ are used up here.
  upstream_target(node.base, req_.route.rest, target_);
  host_header(node.base, host_);
  auto body = field_for(req_.body);
  if (req_.body.kind == body_kind::none && h.content_lengths)  // "Content-Length: 0" stays
    body = {body_field::content_length, 0};
  write_request_head(
      h, {target_, host_, client_ip_, req_.client_host, ctx_->via, body, req_.upgrade}, reqbuf_);
  bool sent_continue = false;
  if (req_.expect_continue && req_.body.kind != body_kind::none && client_version >= 11 &&
      cbuf_.size() <= h.header_bytes) {
    // The node is chosen and connected: tell the client to send its body.
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    dl_->arm(client_, ctx_->idle_timeout);
    auto [ec, n] =
        co_await asio::async_write(client_.socket(), asio::buffer(cont), tuple_awaitable);
    if (ec) co_return false;
    sent_continue = true;
  }

  if (req_.body.kind == body_kind::none) {
    dl_->arm(tcp, ctx_->idle_timeout);
    beast::error_code wec;
    if (auto rest = send_now(raw(up), asio::buffer(reqbuf_), wec); !wec && rest.size())
      std::tie(wec, std::ignore) = co_await asio::async_write(raw(up), rest, tuple_awaitable);
    if (wec && replay_if_stale && closed_by_peer(wec)) {
      stale_ = true;
      co_return false;
    }
    if (wec) co_return co_await upstream_failed(snap, node, wec);
  } else {
    consume_head();
    relay_job job{req_.body, req_.body.kind == body_kind::chunked, snap.spec.max_request_bytes};
    auto r = co_await relay_body(
        relay_side<tcp::socket>{client_.socket(), client_, ctx_->idle_timeout}, cbuf_,
        relay_side<up_stream>{raw(up), tcp, ctx_->idle_timeout}, job, reqbuf_, *dl_);
    if (ctx_->metrics) snap.stats->bytes_in.fetch_add(r.bytes, std::memory_order_relaxed);
    switch (r.code) {
      case relay_result::ok:
        break;
      case relay_result::too_large:
        snap.stats->rejected_too_large.fetch_add(1, std::memory_order_relaxed);
        co_await send_error(status::payload_too_large, "body_too_large",
                            "group '" + snap.spec.name + "' accepts bodies up to " +
                                std::to_string(snap.spec.max_request_bytes) + " bytes",
                            false);
        co_return false;
      case relay_result::bad_framing:
        co_await send_error(status::bad_request, "bad_framing",
                            std::string("malformed chunked request body: ") + r.error, false);
        co_return false;
      case relay_result::read_failed:
        co_return false;  // the client went away: drop both sides
      case relay_result::write_failed:
        co_return co_await upstream_failed(snap, node, r.ec);
    }
  }

  // The answer's head: one deadline for all of it (interim answers do not push it out), and
  // one header limit for the interim heads and the final one together.
  auto deadline = io_deadline::now() + response_timeout;
  auto& a = answer_;
  ubuf_.clear();
  size_t head_budget = ctx_->max_header_bytes;
  int interim = 0;
  for (;;) {
    head_result hr;
    for (;;) {
      hr = parse_response_head(buffered(ubuf_), a, head_budget);
      if (hr != head_result::need_more) break;
      dl_->arm_until(tcp, deadline);
      auto [ec, n] = co_await raw(up).async_read_some(header_space(ubuf_), tuple_awaitable);
      auto rec = read_outcome(ubuf_, ec, n);
      if (rec && replay_if_stale && closed_by_peer(ec) && ubuf_.size() == 0 && interim == 0) {
        stale_ = true;
        co_return false;
      }
      if (rec) co_return co_await upstream_failed(snap, node, ec);
    }
    replay_if_stale = false;  // the node has answered something: no second try
    if (hr == head_result::too_large)
      co_return co_await upstream_failed(snap, node, {}, "sent an answer header over the limit");
    if (hr == head_result::invalid)
      co_return co_await upstream_failed(snap, node, {},
                                         std::string("sent a malformed answer: ") + a.error);
    if (a.status >= 200 || a.status == 101) break;
    // RFC 9110 §15.2: a proxy forwards the 1xx answers it did not ask for itself, to HTTP/1.1
    // clients (a 100 after sgd's own 100 Continue is one the client has had already).
    if (++interim > max_interim)
      co_return co_await upstream_failed(
          snap, node, {}, "sent more than " + std::to_string(max_interim) + " interim answers");
    head_budget -= a.header_bytes;
    if (client_version >= 11 && !(a.status == 100 && sent_continue)) {
      write_response_head(a, {client_version, true, ctx_->via, {}, false}, hbuf_);
      dl_->arm(client_, ctx_->idle_timeout);
      auto [ec, n] =
          co_await asio::async_write(client_.socket(), asio::buffer(hbuf_), tuple_awaitable);
      if (ec) co_return false;
    }
    ubuf_.consume(a.header_bytes);
  }

  if (a.status == 101) {
    if (!req_.upgrade)
      co_return co_await upstream_failed(snap, node, {},
                                         "switched protocols though the request did not ask to");
    // The tunnel: the 101 and what the node sent after it to the client, what the client sent
    // after its request to the node, then bytes both ways. The connection is never pooled.
    write_response_head(a, {client_version, true, ctx_->via, {}, true}, hbuf_);
    ubuf_.consume(a.header_bytes);
    hbuf_.append(buffered(ubuf_));
    ubuf_.consume(ubuf_.size());
    consume_head();
    answered_ = true;
    dl_->arm(client_, ctx_->idle_timeout);
    auto [wec, wn] =
        co_await asio::async_write(client_.socket(), asio::buffer(hbuf_), tuple_awaitable);
    if (wec) co_return false;
    if (cbuf_.size()) {
      dl_->arm(tcp, ctx_->idle_timeout);
      auto [uec, un] = co_await asio::async_write(raw(up), cbuf_.data(), tuple_awaitable);
      if (uec) co_return false;
      cbuf_.consume(cbuf_.size());
    }
    dl_->disarm();  // the tunnel keeps its own idle timeout
    co_await tunnel(client_.socket(), client_, raw(up), tcp, ctx_->idle_timeout);
    co_return false;
  }

  framing f;
  if (auto err = response_framing(a, head_method, f))
    co_return co_await upstream_failed(snap, node, {}, std::string("sent an answer with ") + err);
  if (ctx_->metrics)
    node.runtime->responses[std::min<unsigned>(a.status / 100, 5)].fetch_add(
        1, std::memory_order_relaxed);
  bool keep = req_.keep_alive;
  bool upstream_keep = a.keep_alive() && !f.suspicious && f.kind != body_kind::until_close;
  // The framing the client gets: the node's length as it is; chunked (or, for an HTTP/1.0
  // client, the bare body and a close) for chunked and read-until-close answers. HEAD and 304
  // answers keep their length (or chunked) field without a body.
  body_field out = field_for(f);
  bool chunk_out = out.kind == body_field::chunked && client_version >= 11;
  if (out.kind == body_field::chunked && !chunk_out) {
    out = {};
    keep = false;
  }
  // No body, but the length field stays: "Content-Length: 0" frames an empty answer (without it
  // a client reads until close), and HEAD and 304 answers keep the length of what they describe.
  if (f.kind == body_kind::none && a.status >= 200 && a.status != 204) {
    if (a.content_lengths && !a.length_conflict)
      out = {body_field::content_length, a.content_length};
    else if (a.has_te && client_version >= 11 && head_method)
      out = {body_field::chunked, 0};
  }
  write_response_head(a, {client_version, keep, ctx_->via, out, false}, hbuf_);
  ubuf_.consume(a.header_bytes);
  relay_job job{f, chunk_out, 0};
  auto r = co_await relay_body(
      relay_side<up_stream>{raw(up), tcp, response_timeout}, ubuf_,
      relay_side<tcp::socket>{client_.socket(), client_, ctx_->idle_timeout}, job, hbuf_, *dl_);
  if (ctx_->metrics) snap.stats->bytes_out.fetch_add(r.bytes, std::memory_order_relaxed);
  if (r.code != relay_result::ok) {
    if (r.code == relay_result::write_failed) co_return false;  // the client went away
    if (!r.wrote) {
      // Built before the co_await: g++ 12 destroys a ?: temporary inside a co_await expression
      // twice (double free).
      std::string what;
      if (r.code == relay_result::bad_framing)
        what = std::string("sent a malformed chunked body: ") + r.error;
      co_return co_await upstream_failed(snap, node, r.ec, what);
    }
    // Part of the answer is out: closing is how the client learns it was cut short.
    log::warn("upstream failed mid-answer", {{"group", snap.spec.name},
                                             {"node", node.spec.node_id},
                                             {"error", r.error ? r.error : r.ec.message()}});
    co_return false;
  }
  answered_ = true;
  if (upstream_keep && ubuf_.size() == 0) keep_connection(node, conn);
  co_return keep;
}

// Hands a connection whose exchange ended cleanly to this thread's pool for the next request.
void proxy_connection::keep_connection(const routed_node& node,
                                       std::unique_ptr<upstream_conn>& conn) {
  dl_->disarm();  // the pooled connection is no longer this session's to cancel
  if (auto* t = std::get_if<tls_stream>(&conn->stream)) {
    // Bytes the TLS layer holds beyond the answer (decrypted or not): nobody asked for them.
    SSL* ssl = t->native_handle();
    if (SSL_has_pending(ssl) || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return;
  }
  upstream_pool::this_thread().give(node.spec.node_id, node.spec.base_url, std::move(conn));
}

// The node failed after the request was chosen for it: 504 on timeout, else 502. Once part of
// an answer reached the client, the connection is closed instead.
asio::awaitable<bool> proxy_connection::upstream_failed(const group_snapshot& snap,
                                                        const routed_node& node,
                                                        beast::error_code ec,
                                                        std::string_view what) {
  bool timeout =
      ec == beast::error::timeout || (ec == asio::error::operation_aborted && dl_->take_timeout());
  if (ctx_->metrics) node.runtime->responses[0].fetch_add(1, std::memory_order_relaxed);
  std::string msg = "node '" + node.spec.name + "' of group '" + snap.spec.name + "' ";
  if (timeout)
    msg += "did not answer in time";
  else if (!what.empty())
    msg += what;
  else
    msg += "failed: " + ec.message();
  log::warn("upstream failed",
            {{"group", snap.spec.name}, {"node", node.spec.node_id}, {"error", msg}});
  if (answered_) co_return false;
  auto st = timeout ? status::gateway_timeout : status::bad_gateway;
  co_await send_error(st, timeout ? "upstream_timeout" : "upstream_error", msg, false);
  co_return false;
}

}  // namespace sg::http
