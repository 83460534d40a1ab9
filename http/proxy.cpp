#include "http/proxy.hpp"

#include "actors/messages.hpp"
#include "actors/strategies.hpp"
#include "http/error_reply.hpp"
#include "http/header_arena.hpp"
#include "http/io_deadline.hpp"
#include "http/message_head.hpp"
#include "http/route_metadata.hpp"
#include "http/socket_io.hpp"
#include "http/upstream.hpp"
#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <caf/send.hpp>

#include <array>
#include <charconv>
#include <optional>
#include <tuple>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr size_t relay_buffer = 64 * 1024;
constexpr size_t small_body = 16 * 1024;  // copied next to the header rather than sent apart
constexpr uint64_t unlimited = std::numeric_limits<uint64_t>::max();
constexpr size_t header_limit = 64 * 1024;

// Header fields live in the connection's arena (see header_arena.hpp).
using fields_alloc = arena_allocator<char>;
using req_parser = bhttp::parser<true, bhttp::buffer_body, fields_alloc>;
using res_parser = bhttp::parser<false, bhttp::buffer_body, fields_alloc>;
using upstream_request = req_parser::value_type;

// Beast's parser for one message: fields in the connection's arena, header limit, no body limit
// (a group's maxRequestBytes is set later). Started only for what the single-pass parse leaves.
template <class Parser>
Parser& start_parser(std::optional<Parser>& p, header_arena& arena) {
  p.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(fields_alloc{arena}));
  p->header_limit(header_limit);
  p->body_limit(unlimited);
  return *p;
}

// Counts a request against its node for as long as it runs.
struct in_flight_guard {
  const routed_node& node;
  explicit in_flight_guard(const routed_node& n) : node(n) {
    node.runtime->in_flight.fetch_add(1, std::memory_order_relaxed);
    node.runtime->requests.fetch_add(1, std::memory_order_relaxed);
  }
  ~in_flight_guard() {
    // The last request of a draining node tells its actor, which announces the drain complete.
    if (node.runtime->in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        node.runtime->draining.load(std::memory_order_acquire))
      caf::anon_send(node.actor, drained_atom::value);
  }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;
};

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

// Hop-by-hop headers (RFC 9110 7.6.1) and those named in Connection are not forwarded.
// Transfer-Encoding stays: the serializer frames the body with it. One pass over the (few)
// fields rather than a lookup per name: this runs twice per proxied request.
template <class Fields>
void strip_hop_by_hop(Fields& f) {
  std::vector<std::string> named;  // rare: "close" and "keep-alive" name no other field
  for (auto token : bhttp::token_list{f[bhttp::field::connection]})
    if (!beast::iequals(token, "close") && !beast::iequals(token, "keep-alive"))
      named.emplace_back(token.data(), token.size());
  for (auto it = f.begin(); it != f.end();) {
    auto name = it->name_string();
    bool drop = hop_by_hop(sv(name));
    for (size_t i = 0; !drop && i < named.size(); ++i) drop = beast::iequals(name, named[i]);
    it = drop ? f.erase(it) : std::next(it);
  }
}

struct group_route {
  std::string_view group;
  std::string_view rest;  // "" or starts with '/' or '?'
};

bool parse_route(std::string_view target, group_route& out) {
  constexpr std::string_view prefix = "/groups/";
  if (!target.starts_with(prefix)) return false;
  target.remove_prefix(prefix.size());
  auto end = target.find_first_of("/?");
  out.group = target.substr(0, end);
  out.rest = end == std::string_view::npos ? std::string_view{} : target.substr(end);
  return !out.group.empty();
}

std::string upstream_target(const url_parts& base, std::string_view rest) {
  std::string t = base.path;
  if (auto q = t.find('?'); q != std::string::npos) t.resize(q);  // a query in baseUrl is dropped
  while (!t.empty() && t.back() == '/') t.pop_back();
  if (rest.empty() || rest.front() == '?') t += '/';
  t += rest;
  return t;
}

// The stream the proxy's reads and writes go through: the bare socket for plain TCP (Asio's
// single-buffer send/recv path, no Beast stream layer: timeouts are io_deadline's), the TLS
// stream as it is.
tcp::socket& raw(plain_stream& s) {
  return s.socket();
}
tls_stream& raw(tls_stream& s) {
  return s;
}

// What the proxy keeps of the client's request line and headers once they are rewritten.
struct client_side {
  bool keep_alive = true;
  unsigned version = 11;
  bool head = false;
  bool expects_continue = false;
  std::string rest;  // the part of the target after /groups/{group}
};

// The client's request as handle() reads it: the simple parse of a request without a body (see
// message_head.hpp), or Beast's parser for the others (bodies, Expect, unusual headers).
struct incoming {
  const request_head* simple = nullptr;
  req_parser* beast = nullptr;

  std::string_view target() const { return simple ? simple->target : sv(beast->get().target()); }
  std::string_view field(std::string_view name) const {
    return simple ? simple->find(name) : sv(beast->get()[name]);
  }
  bhttp::verb method() const {
    return simple ? bhttp::string_to_verb(simple->method) : beast->get().method();
  }
  unsigned version() const { return simple ? simple->version : beast->get().version(); }
  bool keep_alive() const { return simple ? simple->keep_alive : beast->keep_alive(); }
  bool is_done() const { return simple || beast->is_done(); }  // no body left to read
};

// The Host a node gets: its baseUrl's host, and the port unless it is the scheme's default.
std::string node_host(const url_parts& base) {
  std::string host = base.host.find(':') != std::string::npos ? "[" + base.host + "]" : base.host;
  if (base.port != (base.tls ? 443 : 80)) host += ":" + std::to_string(base.port);
  return host;
}

// An HTTP/1.x header as it goes on the wire, into `out` (reused: no allocation once warm).
template <bool isRequest, class Fields>
void write_header(const bhttp::header<isRequest, Fields>& h, std::string& out) {
  out.clear();
  if constexpr (isRequest) {
    out.append(sv(h.method_string()));
    out += ' ';
    out.append(sv(h.target()));
    out.append(h.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n", 11);
  } else {
    append_status_line(out, h.version(), h.result_int(), sv(h.reason()));
  }
  for (auto& f : h) append_field(out, sv(f.name_string()), sv(f.value()));
  out.append("\r\n", 2);
}

// RFC 9110 9.2.2: safe to send twice.
bool idempotent(bhttp::verb v) {
  using bhttp::verb;
  return v == verb::get || v == verb::head || v == verb::options || v == verb::trace ||
         v == verb::put || v == verb::delete_;
}

// The node closed the connection (or reset it) rather than failing to answer in time.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

class session {
 public:
  session(tcp::socket sock, std::shared_ptr<proxy_context> ctx)
      : client_(std::move(sock)),
        ctx_(std::move(ctx)),
        dl_(io_deadline::start(client_.get_executor())) {
    beast::error_code ec;
    auto ep = client_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = ep.address().to_string();
  }

  asio::awaitable<void> run() {
    bool counted = true;  // a fresh connection carries a request: count it before its header
    ctx_->active.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      if (!counted && ctx_->stopping.load()) break;
      arena_.reset();  // the previous request's fields are gone with its parser
      dl_->arm(client_, ctx_->header_timeout);
      // The simple parse first; Beast's parser once the request turns out to need it.
      bool simple = true;
      std::optional<req_parser> p;
      beast::error_code ec;
      for (;;) {
        if (simple) {
          auto r = parse_request_head(buffered(cbuf_), rhead_, header_limit);
          if (r == head_result::simple) break;
          simple = r == head_result::need_more;
          if (!simple) start_parser(p, arena_);
        }
        if (!simple && (ec = feed_header(cbuf_, *p)) != bhttp::error::need_more) break;
        auto [rec, n] =
            co_await client_.socket().async_read_some(header_space(cbuf_), tuple_awaitable);
        if ((ec = read_outcome(cbuf_, rec, n))) break;
      }
      if (ec) {
        if (ec == bhttp::error::header_limit)
          co_await send_error(status::request_header_fields_too_large, "headers_too_large",
                              "request headers exceed 64 KiB", 11, false);
        else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                 ec != beast::error::timeout && ec != asio::error::connection_reset &&
                 ec != asio::error::operation_aborted)
          co_await send_error(status::bad_request, "bad_request",
                              "malformed HTTP request: " + ec.message(), 11, false);
        break;
      }
      if (!counted) ctx_->active.fetch_add(1, std::memory_order_relaxed);
      counted = true;
      incoming in{simple ? &rhead_ : nullptr, simple ? nullptr : &*p};
      bool keep = co_await handle(in);
      if (simple) cbuf_.consume(rhead_.header_bytes);  // its views were into these bytes
      ctx_->active.fetch_sub(1, std::memory_order_relaxed);
      counted = false;
      if (!keep) break;
    }
    if (counted) ctx_->active.fetch_sub(1, std::memory_order_relaxed);
    dl_->close();
    beast::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

 private:
  asio::awaitable<void> send_error(status st, std::string code, std::string msg, unsigned version,
                                   bool keep_alive, int retry_after = 0) {
    auto res = error_response(st, code, msg, version, keep_alive);
    if (retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(retry_after));
    dl_->arm(client_, ctx_->idle_timeout);
    co_await bhttp::async_write(client_.socket(), res, tuple_awaitable);
  }

  // Answers a request without forwarding it. The connection stays open only when the request
  // has no body left unread.
  asio::awaitable<bool> reject(const incoming& in, status st, std::string code, std::string msg,
                               int retry_after = 0) {
    bool keep = in.keep_alive() && in.is_done();  // the client's own Connection, not ours
    co_await send_error(st, code, msg, in.version(), keep, retry_after);
    co_return keep;
  }

  asio::awaitable<bool> handle(incoming& in) {
    auto started = std::chrono::steady_clock::now();
    auto target = in.target();
    group_route route;
    if (!parse_route(target, route))
      co_return co_await reject(in, status::not_found, "no_route",
                                "the proxy serves /groups/{group}/{endpoint...}");
    auto snap = ctx_->table->find(route.group);
    if (!snap)
      co_return co_await reject(in, status::not_found, "group_not_found",
                                "no group named '" + std::string(route.group) + "'");
    auto& stats = *snap->stats;
    if (snap->nodes.empty()) {
      stats.rejected_no_node.fetch_add(1, std::memory_order_relaxed);
      co_return co_await reject(in, status::service_unavailable, "no_routable_node",
                                "group '" + snap->spec.name + "' has no routable node", 1);
    }
    auto max = snap->spec.max_request_bytes;
    if (max && in.beast) {  // a simple request has no body
      auto& p = *in.beast;
      if (auto len = p.content_length(); len && *len > max) {
        stats.rejected_too_large.fetch_add(1, std::memory_order_relaxed);
        co_return co_await reject(in, status::payload_too_large, "body_too_large",
                                  "group '" + snap->spec.name + "' accepts bodies up to " +
                                      std::to_string(max) + " bytes");
      }
      p.body_limit(max);
    }

    blocked_set blocked;
    bool filtered = false;
    if (auto md = in.field(kRouteMetadata); !md.empty()) {
      metadata_pairs pairs;
      if (auto err = parse_route_metadata(md, pairs); !err.empty())
        co_return co_await reject(in, status::bad_request, "invalid_route_metadata", err);
      if (block_mismatches(*snap, pairs, blocked) == 0) {
        stats.rejected_no_match.fetch_add(1, std::memory_order_relaxed);
        co_return co_await reject(in, status::service_unavailable, "no_matching_node",
                                  "no routable node of group '" + snap->spec.name +
                                      "' matches X-Route-Metadata '" + std::string(md) + "'",
                                  1);
      }
      filtered = true;
    }
    std::string sticky;  // a copy: the header rewrite below may move what a view points at
    if (snap->spec.strategy == strategy_kind::sticky_session)
      for (auto& h : snap->spec.sticky_headers)
        if (auto v = in.field(h); !v.empty()) {
          sticky.assign(v.data(), v.size());
          break;
        }

    // What forward() needs of the client's request, taken before the node-independent rewrite
    // (done once: forward() may run twice, see `fresh_only`).
    auto method = in.method();
    // Only Beast's parser sees Expect: the single-pass one leaves such requests to it.
    bool expects_continue =
        in.beast && beast::iequals(in.beast->get()[bhttp::field::expect], "100-continue");
    client_side cs{in.keep_alive(), in.version(), method == bhttp::verb::head, expects_continue,
                   std::string(route.rest)};
    if (in.beast) rewrite_for_upstream(in.beast->get());  // a simple one is rewritten as written
    // A request without a body and with an idempotent method can go again on a fresh connection
    // when a pooled one turns out closed by the node before any answer. For those the pool skips
    // its per-request check for a close (a syscall); the others keep it.
    bool replayable = in.is_done() && idempotent(method);

    // Pick and connect, failing over to another node when connecting fails.
    auto counter = snap->counter->fetch_add(1, std::memory_order_relaxed);
    std::string last_error;
    bool last_timeout = false;
    auto& pool = upstream_pool::this_thread();
    bool fresh_only = false;  // set once a pooled connection turned out closed
    for (;;) {
      std::unique_ptr<upstream_conn> conn;
      const routed_node* node = nullptr;
      bool reused = false;
      for (int attempt = 0; attempt <= snap->spec.retries; ++attempt) {
        auto i = pick(*snap, counter, sticky, filtered || attempt ? &blocked : nullptr);
        if (i == no_pick) break;
        if (attempt) stats.retries.fetch_add(1, std::memory_order_relaxed);
        auto& cand = snap->nodes[i];
        if (!fresh_only) conn = pool.take(cand.spec.node_id, !replayable);
        reused = conn != nullptr;
        if (!conn) {
          auto r = co_await connect_upstream(
              cand.base, std::chrono::milliseconds(snap->spec.connect_timeout_ms), ctx_->tls.get());
          if (!r.conn) {
            // A failed connection is a failed observation (passive health) for that node.
            cand.runtime->connect_failures.fetch_add(1, std::memory_order_relaxed);
            caf::anon_send(cand.actor, passive_atom::value, probe_outcome::fail);
            log::warn(
                "upstream connect failed",
                {{"group", snap->spec.name}, {"node", cand.spec.node_id}, {"error", r.error}});
            last_error = r.error;
            last_timeout = r.timed_out;
            if (blocked.empty()) blocked.assign(snap->nodes.size(), 0);
            blocked[i] = 1;
            continue;
          }
          conn = std::move(r.conn);
        }
        node = &cand;
        break;
      }
      if (!node) {
        if (last_error.empty()) {
          stats.rejected_no_node.fetch_add(1, std::memory_order_relaxed);
          co_return co_await reject(in, status::service_unavailable, "no_routable_node",
                                    "no routable node left in group '" + snap->spec.name + "'", 1);
        }
        stats.rejected_unreachable.fetch_add(1, std::memory_order_relaxed);
        co_return co_await reject(
            in, last_timeout ? status::gateway_timeout : status::bad_gateway,
            last_timeout ? "upstream_timeout" : "upstream_unreachable",
            "no node of group '" + snap->spec.name + "' accepted a connection: " + last_error);
      }
      in_flight_guard guard{*node};
      stale_ = false;
      bool replay = reused && replayable;
      bool keep = co_await std::visit(
          [&](auto& up) { return forward(in, *snap, *node, cs, up, conn, replay); }, conn->stream);
      if (stale_) {
        // The node closed its idle connections (restart, keep-alive timeout): drop the rest of
        // them and send the request again on a fresh one (a refused connect fails over).
        dl_->disarm();  // it watched the connection that goes away now
        node->runtime->requests.fetch_sub(1, std::memory_order_relaxed);  // counted again next
        pool.drop(node->spec.node_id);
        fresh_only = true;
        continue;
      }
      if (ctx_->metrics)
        stats.request_duration.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      co_return keep;
    }
  }

  // The node-independent part of the upstream request: hop-by-hop headers out, HTTP/1.1
  // keep-alive, X-Forwarded-*. forward() sets the target and Host for the node it talks to.
  void rewrite_for_upstream(upstream_request& req) {
    std::string original_host(req[bhttp::field::host]);
    strip_hop_by_hop(req);
    req.erase(bhttp::field::expect);
    req.version(11);  // keep-alive by default; its Connection header is gone with the others
    auto xff = req[kForwardedFor];
    req.set(kForwardedFor, xff.empty() ? client_ip_ : std::string(xff) + ", " + client_ip_);
    req.set(kForwardedProto, "http");
    if (!original_host.empty()) req.set(kForwardedHost, original_host);
  }

  template <class Stream>
  // Sends the request to `node` over `conn` and relays the answer. With `replay_if_stale`, a
  // connection the node had closed (nothing sent back at all) sets stale_ instead of answering
  // 502, and handle() tries again on a fresh connection.
  asio::awaitable<bool> forward(const incoming& in, const group_snapshot& snap,
                                const routed_node& node, const client_side& cs, Stream& up,
                                std::unique_ptr<upstream_conn>& conn, bool replay_if_stale) {
    bool client_keep = cs.keep_alive;
    unsigned client_version = cs.version;
    bool is_head = cs.head;
    bool expects_continue = cs.expects_continue;

    // The upstream request: same method, headers and body framing; our target and Host. A
    // request without a body (the common GET) goes in one write of a header built here; Beast's
    // serializer walks nested buffer views per field and costs several % of the request path.
    auto target = upstream_target(node.base, cs.rest);
    bool whole_request = in.simple || (in.beast->is_done() && !in.beast->chunked());
    if (in.simple) {
      write_request_head(*in.simple, target, node_host(node.base), client_ip_, hbuf_);
    } else {
      auto& req = in.beast->get();
      req.target(target);
      req.set(bhttp::field::host, node_host(node.base));
      if (whole_request) write_header(req, hbuf_);
    }
    auto& tcp = conn->tcp();

    // Client said Expect: 100-continue: the node is chosen and connected, tell it to send.
    if (expects_continue && !in.is_done() && client_version >= 11) {
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      dl_->arm(client_, ctx_->idle_timeout);
      auto [ec, n] =
          co_await asio::async_write(client_.socket(), asio::buffer(cont), tuple_awaitable);
      if (ec) co_return false;
    }

    if (!buf_) buf_ = std::make_unique<std::array<char, relay_buffer>>();
    auto& buf = *buf_;

    if (whole_request) {
      dl_->arm(tcp, ctx_->idle_timeout);
      beast::error_code wec;
      if (auto rest = send_now(raw(up), asio::buffer(hbuf_), wec); rest.size())
        std::tie(wec, std::ignore) = co_await asio::async_write(raw(up), rest, tuple_awaitable);
      if (wec && replay_if_stale && closed_by_peer(wec)) {
        stale_ = true;
        co_return false;
      }
      if (wec) co_return co_await upstream_failed(snap, node, wec, client_version);
    } else {
      if (auto keep = co_await send_request(*in.beast, snap, node, up, tcp, client_version); !keep)
        co_return false;
    }

    // Response header: wait up to the group's response timeout; skip interim 1xx answers. The
    // common answer (final, whole, framed by Content-Length) is recognised by parse_response_head
    // and relayed from its bytes; anything else goes through Beast's parser.
    std::optional<res_parser> rp;
    // A HEAD answer's Content-Length frames no body: Beast's path, told to expect none.
    auto start_rp = [&] { start_parser(rp, arena_).skip(is_head); };
    auto& ubuf = ubuf_;
    ubuf.clear();
    bool simple = !is_head;
    if (!simple) start_rp();
    auto& head = head_;
    for (;;) {
      dl_->arm(tcp, std::chrono::milliseconds(snap.spec.response_timeout_ms));
      beast::error_code ec;
      for (;;) {
        if (simple) {
          auto r = parse_response_head(buffered(ubuf), head, header_limit);
          if (r == head_result::simple && ubuf.size() - head.header_bytes >= head.content_length)
            break;
          simple = r == head_result::need_more;
          if (!simple) start_rp();
        }
        if (!simple && (ec = feed_header(ubuf, *rp)) != bhttp::error::need_more) break;
        auto [rec, n] = co_await raw(up).async_read_some(header_space(ubuf), tuple_awaitable);
        if ((ec = read_outcome(ubuf, rec, n))) break;
      }
      if (ec && replay_if_stale && closed_by_peer(ec) && ubuf.size() == 0) {
        stale_ = true;
        co_return false;
      }
      replay_if_stale = false;  // after a 1xx the node has answered: no second try
      if (ec) co_return co_await upstream_failed(snap, node, ec, client_version);
      if (simple) break;
      auto code = rp->get().result_int();
      if (code >= 100 && code < 200 && code != 101) {
        start_rp();  // a fresh parser for the answer after the interim one
        continue;
      }
      break;
    }
    auto status = simple ? head.status : rp->get().result_int();
    if (ctx_->metrics)
      node.runtime->responses[std::min<unsigned>(status / 100, 5)].fetch_add(
          1, std::memory_order_relaxed);
    bool keep = client_keep;
    bool upstream_keep = false;
    bool close_delimited = false;
    std::optional<uint64_t> whole;  // a whole answer's body length: header and body in one write
    size_t body_at = 0;             // where that body starts in ubuf
    if (simple) {
      upstream_keep = head.keep_alive;
      write_response_head(head, client_version, keep, hbuf_);
      whole = head.content_length;
      body_at = head.header_bytes;
    } else {
      auto& res = rp->get();
      if (!rp->is_done()) ubuf.reserve(relay_buffer);  // 64 KiB reads for the body
      // What the parser saw of the framing and Connection: no second look through the fields.
      upstream_keep = rp->keep_alive();
      strip_hop_by_hop(res);
      close_delimited = !rp->content_length() && !rp->chunked() && !rp->is_done();
      if (close_delimited) {
        if (client_version >= 11)
          res.chunked(true);  // frame a read-until-close body for the client
        else
          keep = false;
      }
      res.version(client_version);
      if (keep != (client_version >= 11))  // else the version's default says it
        res.set(bhttp::field::connection, keep ? "keep-alive" : "close");
      if (!close_delimited && !rp->chunked()) {
        if (rp->is_done())
          whole = 0;
        else if (auto cl = rp->content_length(); cl && ubuf.size() >= *cl)
          whole = *cl;
        if (whole) write_header(res, hbuf_);
      }
    }

    // The whole answer is already read (the common small answer): the header built here and the
    // body straight from the read buffer, in one write.
    if (whole) {
      auto body = asio::buffer(static_cast<const char*>(ubuf.data().data()) + body_at,
                               static_cast<size_t>(*whole));
      // A small body joins the header: one buffer is a plain send(), cheaper than sendmsg().
      bool joined = body.size() <= small_body;
      if (joined) hbuf_.append(static_cast<const char*>(body.data()), body.size());
      std::array<asio::const_buffer, 2> out{asio::buffer(hbuf_), body};
      dl_->arm(client_, ctx_->idle_timeout);
      // No co_await inside ?: (g++ 12 miscompiles it): two plain statements.
      beast::error_code wec;
      if (joined) {
        if (auto rest = send_now(client_.socket(), asio::buffer(hbuf_), wec); rest.size())
          std::tie(wec, std::ignore) =
              co_await asio::async_write(client_.socket(), rest, tuple_awaitable);
      } else
        std::tie(wec, std::ignore) =
            co_await asio::async_write(client_.socket(), out, tuple_awaitable);
      if (wec) co_return false;
      if (ctx_->metrics) snap.stats->bytes_out.fetch_add(*whole, std::memory_order_relaxed);
      ubuf.consume(body_at + static_cast<size_t>(*whole));
      if (upstream_keep && ubuf.size() == 0) keep_connection(node, conn);
      co_return keep;
    }

    // Response body: forward each piece as soon as it arrives (SSE, token streams).
    auto& res = rp->get();
    bhttp::serializer<false, bhttp::buffer_body, bhttp::basic_fields<fields_alloc>> ssr{res};
    // As for the request: one write for header and body when the body is already here; the
    // header alone first when it is not (an event stream's header must not wait for its first
    // event).
    if (!rp->is_done() && ubuf.size() == 0) {
      dl_->arm(client_, ctx_->idle_timeout);
      if (auto [ec, n] = co_await bhttp::async_write_header(client_.socket(), ssr, tuple_awaitable);
          ec)
        co_return false;
    }
    for (;;) {
      if (!rp->is_done()) {
        res.body().data = buf.data();
        res.body().size = buf.size();
        dl_->arm(tcp, std::chrono::milliseconds(snap.spec.response_timeout_ms));
        auto [ec, n] = co_await bhttp::async_read_some(raw(up), ubuf, *rp, tuple_awaitable);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec == bhttp::error::partial_message || ec == asio::error::eof) {
          if (!close_delimited) co_return false;  // cut short: the client must see it
          ec = {};
        }
        if (ec) co_return false;
        res.body().size = buf.size() - res.body().size;
        res.body().data = buf.data();
        res.body().more = !rp->is_done();
        if (res.body().size == 0 && res.body().more) continue;  // see the request loop
        if (ctx_->metrics)
          snap.stats->bytes_out.fetch_add(res.body().size, std::memory_order_relaxed);
      } else {
        res.body().data = nullptr;
        res.body().size = 0;
        res.body().more = false;
      }
      dl_->arm(client_, ctx_->idle_timeout);
      auto [wec, wn] = co_await bhttp::async_write(client_.socket(), ssr, tuple_awaitable);
      if (wec == bhttp::error::need_buffer) wec = {};
      if (wec) co_return false;
      if (rp->is_done() && ssr.is_done()) break;
    }
    if (upstream_keep && !close_delimited && ubuf.size() == 0) keep_connection(node, conn);
    co_return keep;
  }

  // Sends the request header and relays its body as it arrives (64 KiB pieces). false: the
  // exchange ended (an error answer is already sent where one is due).
  template <class Stream>
  asio::awaitable<bool> send_request(req_parser& p, const group_snapshot& snap,
                                     const routed_node& node, Stream& up, plain_stream& tcp,
                                     unsigned client_version) {
    auto& req = p.get();
    auto& buf = *buf_;
    bhttp::serializer<true, bhttp::buffer_body, bhttp::basic_fields<fields_alloc>> rsr{req};
    if (!p.is_done()) {
      // Read bodies in 64 KiB pieces (Beast would otherwise read what the buffer's small
      // capacity allows: 512 bytes).
      cbuf_.reserve(relay_buffer);
      // Header and the first body bytes go out in one write when those bytes are already here;
      // otherwise the header goes first so the node can start (and 100-continue clients send).
      if (cbuf_.size() == 0) {
        dl_->arm(tcp, ctx_->idle_timeout);
        if (auto [ec, n] = co_await bhttp::async_write_header(raw(up), rsr, tuple_awaitable); ec) {
          co_await upstream_failed(snap, node, ec, client_version);
          co_return false;
        }
      }
    }
    for (;;) {
      if (!p.is_done()) {
        req.body().data = buf.data();
        req.body().size = buf.size();
        dl_->arm(client_, ctx_->idle_timeout);
        auto [ec, n] = co_await bhttp::async_read_some(client_.socket(), cbuf_, p, tuple_awaitable);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec == bhttp::error::body_limit) {
          co_await send_error(status::payload_too_large, "body_too_large",
                              "group '" + snap.spec.name + "' accepts bodies up to " +
                                  std::to_string(snap.spec.max_request_bytes) + " bytes",
                              client_version, false);
          co_return false;
        }
        if (ec) co_return false;  // the client went away or broke framing: drop both sides
        req.body().size = buf.size() - req.body().size;
        req.body().data = buf.data();
        req.body().more = !p.is_done();
        // A read may parse only a chunk header: an empty piece with more to come must not be
        // written, the chunked serializer would send it as the terminating 0-size chunk.
        if (req.body().size == 0 && req.body().more) continue;
        if (ctx_->metrics)
          snap.stats->bytes_in.fetch_add(req.body().size, std::memory_order_relaxed);
      } else {
        req.body().data = nullptr;
        req.body().size = 0;
        req.body().more = false;
      }
      dl_->arm(tcp, ctx_->idle_timeout);
      auto [wec, wn] = co_await bhttp::async_write(raw(up), rsr, tuple_awaitable);
      if (wec == bhttp::error::need_buffer) wec = {};
      if (wec) {
        co_await upstream_failed(snap, node, wec, client_version);
        co_return false;
      }
      if (p.is_done() && rsr.is_done()) break;
    }

    co_return true;
  }

  // Hands a connection whose exchange ended cleanly to this thread's pool for the next request.
  void keep_connection(const routed_node& node, std::unique_ptr<upstream_conn>& conn) {
    dl_->disarm();  // the pooled connection is no longer this session's to cancel
    upstream_pool::this_thread().give(node.spec.node_id, std::move(conn));
  }

  // The node failed after the request was chosen for it: 504 on timeout, else 502.
  asio::awaitable<bool> upstream_failed(const group_snapshot& snap, const routed_node& node,
                                        beast::error_code ec, unsigned version) {
    bool timeout = ec == beast::error::timeout ||
                   (ec == asio::error::operation_aborted && dl_->take_timeout());
    if (ctx_->metrics) node.runtime->responses[0].fetch_add(1, std::memory_order_relaxed);
    log::warn("upstream failed",
              {{"group", snap.spec.name}, {"node", node.spec.node_id}, {"error", ec.message()}});
    // Built before the co_await: g++ 12 destroys a ?: temporary inside a co_await expression
    // twice (double free).
    std::string msg = "node '" + node.spec.name + "' of group '" + snap.spec.name + "' ";
    msg += timeout ? std::string("did not answer in time") : "failed: " + ec.message();
    auto st = timeout ? status::gateway_timeout : status::bad_gateway;
    co_await send_error(st, timeout ? "upstream_timeout" : "upstream_error", msg, version, false);
    co_return false;
  }

  static constexpr std::string_view kRouteMetadata = "X-Route-Metadata";
  static constexpr std::string_view kForwardedFor = "X-Forwarded-For";
  static constexpr std::string_view kForwardedProto = "X-Forwarded-Proto";
  static constexpr std::string_view kForwardedHost = "X-Forwarded-Host";

  beast::tcp_stream client_;
  header_arena arena_;  // declared before everything that may hold fields allocated from it
  beast::flat_buffer cbuf_;
  beast::flat_buffer ubuf_;  // reused for every upstream response of this connection
  std::shared_ptr<proxy_context> ctx_;
  std::shared_ptr<io_deadline> dl_;  // every read and write below is bounded through it
  bool stale_ = false;               // forward() found its pooled connection closed by the node
  std::string hbuf_;                 // headers written without Beast's serializer
  response_head head_;               // the node's answer when it is a simple one
  request_head rhead_;               // the client's request when it is a simple one
  std::string client_ip_;
  std::unique_ptr<std::array<char, relay_buffer>> buf_;
};

}  // namespace

asio::awaitable<void> proxy_session(tcp::socket sock, std::shared_ptr<proxy_context> ctx) {
  session s{std::move(sock), std::move(ctx)};
  co_await s.run();
}

}  // namespace sg::http
