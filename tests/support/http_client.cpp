#include "tests/support/http_client.hpp"

#include "tests/support/data_pattern.hpp"
#include "tests/support/sha256.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <variant>
#include <vector>

namespace sg::test {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

constexpr auto tok = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t max_body = 64ull << 20;
constexpr std::size_t max_kept = 16u << 20;
constexpr std::size_t piece_size = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  return ec.message();
}

ms since(clock_type::time_point t0) {
  return std::chrono::duration_cast<ms>(clock_type::now() - t0);
}

tcp::endpoint loopback(std::uint16_t port) {
  return {net::ip::address_v4::loopback(), port};
}

template <class Fields>
void fill_headers(const Fields& f, header_map& out) {
  out.clear();
  for (auto& field : f) {
    auto key = lower(field.name_string());
    auto it = out.find(key);
    if (it == out.end())
      out.emplace(std::move(key), std::string(field.value()));
    else
      it->second += ", " + std::string(field.value());
  }
}

template <class Body>
void set_common(http::request<Body>& req, const std::string& method, const std::string& target,
                std::uint16_t port, const header_map& headers) {
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "sg-test");
  for (auto& [k, v] : headers) req.set(k, v);
}

bool has_header(const header_map& headers, const std::string& name) {
  for (auto& [k, v] : headers)
    if (beast::iequals(k, name)) return true;
  return false;
}

// Runs one coroutine on `ioc` to completion. `hard_deadline` is a safety net only (every
// operation already carries its own deadline): past it, `abort` closes the stream.
template <class Awaitable>
void run(net::io_context& ioc, Awaitable aw, clock_type::time_point hard_deadline,
         const std::function<void()>& abort, std::string& error) {
  std::exception_ptr ex;
  bool done = false;
  net::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) {
    ex = e;
    done = true;
  });
  ioc.restart();
  ioc.run_until(hard_deadline + std::chrono::seconds(2));
  if (!done) {
    abort();
    ioc.restart();
    ioc.run_for(std::chrono::seconds(2));
    if (error.empty()) error = "timeout (hard deadline)";
  }
  if (ex) {
    try {
      std::rethrow_exception(ex);
    } catch (const std::exception& e) {
      error = std::string("exception: ") + e.what();
    } catch (...) {
      error = "unknown exception";
    }
  }
}

net::awaitable<void> connect(beast::tcp_stream& s, std::uint16_t port,
                             clock_type::time_point deadline, std::string& error) {
  s.expires_at(deadline);
  auto [ec] = co_await s.async_connect(loopback(port), tok);
  if (ec) error = "connect: " + describe(ec);
}

// Reads one response into r. skip_interim: 1xx answers (but 101) are skipped, noting a 100.
template <class Stream>
net::awaitable<void> read_one(Stream& s, beast::flat_buffer& buf, clock_type::time_point deadline,
                              bool head, bool skip_interim, http_result& r, bool& keep_alive) {
  for (;;) {
    http::response_parser<http::string_body> p;
    p.body_limit(max_body);
    p.header_limit(256 * 1024);
    if (head) p.skip(true);
    beast::get_lowest_layer(s).expires_at(deadline);
    auto [ec, n] = co_await http::async_read(s, buf, p, tok);
    if (ec) {
      r.error = "read: " + describe(ec);
      keep_alive = false;
      co_return;
    }
    auto& m = p.get();
    int code = m.result_int();
    if (skip_interim && code / 100 == 1 && code != 101) {
      if (code == 100) r.got_continue = true;
      continue;
    }
    r.status = code;
    fill_headers(m, r.headers);
    r.body = std::move(m.body());
    r.body_bytes = r.body.size();
    r.body_sha256 = sha256_hex(r.body);
    keep_alive = m.keep_alive();
    co_return;
  }
}

template <class Stream>
net::awaitable<void> exchange(Stream& s, beast::flat_buffer& buf,
                              http::request<http::string_body>& req,
                              clock_type::time_point deadline, http_result& r, bool& keep_alive) {
  beast::get_lowest_layer(s).expires_at(deadline);
  auto [ec, n] = co_await http::async_write(s, req, tok);
  if (ec) {
    r.error = "write: " + describe(ec);
    keep_alive = false;
    co_return;
  }
  co_await read_one(s, buf, deadline, req.method() == http::verb::head, true, r, keep_alive);
}

http::request<http::string_body> make_request(const std::string& method, std::uint16_t port,
                                              const std::string& target, const std::string& body,
                                              const header_map& headers) {
  http::request<http::string_body> req;
  set_common(req, method, target, port, headers);
  req.body() = body;
  if (!has_header(headers, "content-length") && !has_header(headers, "transfer-encoding"))
    req.prepare_payload();
  return req;
}

void close_quietly(beast::tcp_stream& s) {
  boost::system::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  s.socket().close(ec);
}

net::awaitable<void> plain_request(beast::tcp_stream& s, http::request<http::string_body>& req,
                                   std::uint16_t port, clock_type::time_point deadline,
                                   http_result& r) {
  co_await connect(s, port, deadline, r.error);
  if (!r.error.empty()) co_return;
  beast::flat_buffer buf;
  bool ka = false;
  co_await exchange(s, buf, req, deadline, r, ka);
}

net::awaitable<void> tls_request(beast::ssl_stream<beast::tcp_stream>& s,
                                 http::request<http::string_body>& req, std::uint16_t port,
                                 clock_type::time_point deadline, http_result& r) {
  co_await connect(beast::get_lowest_layer(s), port, deadline, r.error);
  if (!r.error.empty()) co_return;
  beast::get_lowest_layer(s).expires_at(deadline);
  auto [ec] = co_await s.async_handshake(ssl::stream_base::client, tok);
  if (ec) {
    r.error = "tls handshake: " + describe(ec);
    co_return;
  }
  beast::flat_buffer buf;
  bool ka = false;
  co_await exchange(s, buf, req, deadline, r, ka);
  if (r.error.empty()) {
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(1));
    co_await s.async_shutdown(tok);  // best effort
  }
}

// Waits up to `wait` for the socket to become readable (an early answer to Expect).
net::awaitable<bool> readable_within(beast::tcp_stream& s, ms wait) {
  using namespace net::experimental::awaitable_operators;
  net::steady_timer t(co_await net::this_coro::executor);
  t.expires_after(wait);
  auto res = co_await (s.socket().async_wait(tcp::socket::wait_read, tok) || t.async_wait(tok));
  co_return res.index() == 0 && !std::get<0>(std::get<0>(res));
}

net::awaitable<void> do_upload(beast::tcp_stream& s, std::uint16_t port, const std::string& target,
                               std::uint64_t bytes, const header_map& headers, bool chunked,
                               const std::string& method, clock_type::time_point deadline,
                               http_result& r) {
  co_await connect(s, port, deadline, r.error);
  if (!r.error.empty()) co_return;
  http::request<http::buffer_body> req;
  set_common(req, method, target, port, headers);
  if (chunked)
    req.chunked(true);
  else
    req.content_length(bytes);
  bool expect = beast::iequals(req[http::field::expect], "100-continue");
  req.body().data = nullptr;
  req.body().size = 0;
  req.body().more = true;
  http::request_serializer<http::buffer_body> sr{req};
  beast::flat_buffer buf;
  bool ka = false;
  sha256 hasher;

  s.expires_at(deadline);
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) {
    r.error = "write header: " + describe(hec);
    co_return;
  }
  if (expect) {
    auto left = std::chrono::duration_cast<ms>(deadline - clock_type::now());
    if (co_await readable_within(s, std::clamp(left, ms(0), ms(1000)))) {
      http_result first;
      co_await read_one(s, buf, deadline, false, false, first, ka);
      if (!first.error.empty()) {
        r.error = first.error;
        co_return;
      }
      if (first.status != 100) {  // a final answer before the body: do not send it
        first.sent_sha256 = hasher.hex();
        first.got_continue = false;
        r = std::move(first);
        co_return;
      }
      r.got_continue = true;
    }
  }

  std::vector<char> piece(piece_size);
  while (r.sent_bytes < bytes) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), bytes - r.sent_bytes));
    fill_pattern(r.sent_bytes, piece.data(), n);
    req.body().data = piece.data();
    req.body().size = n;
    req.body().more = true;
    s.expires_at(deadline);
    auto [ec, w] = co_await http::async_write(s, sr, tok);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      r.error = "write body: " + describe(ec);
      break;
    }
    hasher.update(piece.data(), n);
    r.sent_bytes += n;
  }
  if (r.error.empty()) {
    req.body().data = nullptr;
    req.body().size = 0;
    req.body().more = false;
    s.expires_at(deadline);
    auto [ec, w] = co_await http::async_write(s, sr, tok);
    if (ec) r.error = "write end: " + describe(ec);
  }
  r.sent_sha256 = hasher.hex();
  if (r.error.empty()) {
    co_await read_one(s, buf, deadline, false, true, r, ka);
  } else {
    // The server may have answered early (e.g. 413) before closing: try to read it.
    auto write_error = r.error;
    auto short_deadline = std::min(deadline, clock_type::now() + std::chrono::seconds(2));
    co_await read_one(s, buf, short_deadline, false, true, r, ka);
    r.error = write_error;
  }
}

net::awaitable<void> do_download(beast::tcp_stream& s, std::uint16_t port,
                                 const std::string& target, const header_map& headers,
                                 clock_type::time_point deadline, clock_type::time_point t0,
                                 http_result& r, const piece_callback* on_piece) {
  co_await connect(s, port, deadline, r.error);
  if (!r.error.empty()) co_return;
  http::request<http::empty_body> req;
  set_common(req, "GET", target, port, headers);
  s.expires_at(deadline);
  auto [wec, wn] = co_await http::async_write(s, req, tok);
  if (wec) {
    r.error = "write: " + describe(wec);
    co_return;
  }
  beast::flat_buffer buf;
  std::optional<http::response_parser<http::buffer_body>> p;
  for (;;) {  // skip 1xx interim answers
    p.emplace();
    p->body_limit(std::numeric_limits<std::uint64_t>::max());
    p->header_limit(256 * 1024);
    s.expires_at(deadline);
    auto [ec, n] = co_await http::async_read_header(s, buf, *p, tok);
    if (ec) {
      r.error = "read header: " + describe(ec);
      co_return;
    }
    int code = p->get().result_int();
    if (code / 100 != 1 || code == 101) break;
  }
  r.status = p->get().result_int();
  fill_headers(p->get(), r.headers);
  sha256 hasher;
  std::vector<char> piece(piece_size);
  while (!p->is_done()) {
    p->get().body().data = piece.data();
    p->get().body().size = piece.size();
    s.expires_at(deadline);
    auto [ec, n] = on_piece ? co_await http::async_read_some(s, buf, *p, tok)
                            : co_await http::async_read(s, buf, *p, tok);
    if (ec == http::error::need_buffer) ec = {};
    auto got = piece.size() - p->get().body().size;
    if (got > 0) {
      hasher.update(piece.data(), got);
      r.body_bytes += got;
      if (on_piece) {
        if (r.body.size() < max_kept)
          r.body.append(piece.data(), std::min(got, max_kept - r.body.size()));
        if (!(*on_piece)(std::string_view(piece.data(), got), since(t0))) break;
      }
    }
    if (ec) {
      r.error = "read body: " + describe(ec);
      break;
    }
  }
  r.body_sha256 = hasher.hex();
}

net::awaitable<void> do_raw(beast::tcp_stream& s, std::uint16_t port, const std::string& bytes,
                            bool shutdown_write, clock_type::time_point deadline, raw_result& r) {
  co_await connect(s, port, deadline, r.error);
  if (!r.error.empty()) co_return;
  s.expires_at(deadline);
  auto [wec, wn] = co_await net::async_write(s, net::buffer(bytes), tok);
  if (wec) r.error = "write: " + describe(wec);  // still read what the server said
  if (!wec && shutdown_write) {
    boost::system::error_code ec;
    s.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  std::vector<char> piece(piece_size);
  for (;;) {
    s.expires_at(deadline);
    auto [ec, n] = co_await s.async_read_some(net::buffer(piece), tok);
    if (n > 0 && r.received.size() < max_kept)
      r.received.append(piece.data(), std::min(n, max_kept - r.received.size()));
    if (!ec) continue;
    if (ec == beast::error::timeout) {
      r.timed_out = true;
    } else {
      r.closed_by_peer = true;
      if (ec != net::error::eof && r.error.empty()) r.error = "read: " + describe(ec);
    }
    break;
  }
}

}  // namespace

std::string http_result::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

http_result request(const std::string& method, std::uint16_t port, const std::string& target,
                    const std::string& body, const header_map& headers, ms timeout) {
  http_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  auto req = make_request(method, port, target, body, headers);
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  run(ioc, plain_request(s, req, port, deadline, r), deadline, [&] { close_quietly(s); }, r.error);
  close_quietly(s);
  r.elapsed = since(t0);
  return r;
}

http_result request_tls(const std::string& method, std::uint16_t port, const std::string& target,
                        const std::string& body, const header_map& headers, ms timeout) {
  http_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  auto req = make_request(method, port, target, body, headers);
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
  run(ioc, tls_request(s, req, port, deadline, r), deadline,
      [&] { close_quietly(beast::get_lowest_layer(s)); }, r.error);
  close_quietly(beast::get_lowest_layer(s));
  r.elapsed = since(t0);
  return r;
}

rapidjson::Document json(std::string_view text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return d;
}

rapidjson::Document json(const http_result& r) { return json(std::string_view(r.body)); }

http_result upload(std::uint16_t port, const std::string& target, std::uint64_t bytes,
                   const header_map& headers, ms timeout, bool chunked,
                   const std::string& method) {
  http_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  run(ioc, do_upload(s, port, target, bytes, headers, chunked, method, deadline, r), deadline,
      [&] { close_quietly(s); }, r.error);
  close_quietly(s);
  r.elapsed = since(t0);
  return r;
}

http_result download(std::uint16_t port, const std::string& target, const header_map& headers,
                     ms timeout) {
  http_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  run(ioc, do_download(s, port, target, headers, deadline, t0, r, nullptr), deadline,
      [&] { close_quietly(s); }, r.error);
  close_quietly(s);
  r.elapsed = since(t0);
  return r;
}

http_result stream_events(std::uint16_t port, const std::string& target,
                          const piece_callback& on_piece, ms timeout, const header_map& headers) {
  http_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  run(ioc, do_download(s, port, target, headers, deadline, t0, r, &on_piece), deadline,
      [&] { close_quietly(s); }, r.error);
  close_quietly(s);
  r.elapsed = since(t0);
  return r;
}

raw_result raw_exchange(std::uint16_t port, const std::string& raw_bytes, ms timeout,
                        bool shutdown_write) {
  raw_result r;
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  run(ioc, do_raw(s, port, raw_bytes, shutdown_write, deadline, r), deadline,
      [&] { close_quietly(s); }, r.error);
  close_quietly(s);
  r.elapsed = since(t0);
  return r;
}

// ---- http_connection ----

struct http_connection::impl {
  net::io_context ioc;
  std::optional<beast::tcp_stream> s;
  beast::flat_buffer buf;
  std::uint16_t port = 0;
  bool open = false;

  void drop() {
    if (s) close_quietly(*s);
    s.reset();
    buf.clear();
    open = false;
  }
};

http_connection::http_connection() : impl_(std::make_unique<impl>()) {}
http_connection::~http_connection() { impl_->drop(); }

std::string http_connection::connect(std::uint16_t port, ms timeout) {
  impl_->drop();
  impl_->s.emplace(impl_->ioc);
  impl_->port = port;
  std::string error;
  auto deadline = clock_type::now() + timeout;
  run(impl_->ioc, sg::test::connect(*impl_->s, port, deadline, error), deadline,
      [&] { close_quietly(*impl_->s); }, error);
  impl_->open = error.empty();
  if (!impl_->open) impl_->drop();
  return error;
}

bool http_connection::is_open() const { return impl_->open; }
void http_connection::close() { impl_->drop(); }

http_result http_connection::request(const std::string& method, const std::string& target,
                                     const std::string& body, const header_map& headers,
                                     ms timeout) {
  http_result r;
  if (!impl_->open) {
    r.error = "not connected";
    return r;
  }
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  auto req = make_request(method, impl_->port, target, body, headers);
  bool ka = false;
  run(impl_->ioc, exchange(*impl_->s, impl_->buf, req, deadline, r, ka), deadline,
      [&] { close_quietly(*impl_->s); }, r.error);
  if (!r.error.empty() || !ka) impl_->drop();
  r.elapsed = since(t0);
  return r;
}

namespace {
net::awaitable<void> write_raw(beast::tcp_stream& s, const std::string& bytes,
                               clock_type::time_point deadline, std::string& error) {
  s.expires_at(deadline);
  auto [ec, n] = co_await net::async_write(s, net::buffer(bytes), tok);
  if (ec) error = "write: " + describe(ec);
}
}  // namespace

std::string http_connection::send_raw(const std::string& bytes, ms timeout) {
  if (!impl_->open) return "not connected";
  std::string error;
  auto deadline = clock_type::now() + timeout;
  run(impl_->ioc, write_raw(*impl_->s, bytes, deadline, error), deadline,
      [&] { close_quietly(*impl_->s); }, error);
  if (!error.empty()) impl_->drop();
  return error;
}

http_result http_connection::read_response(ms timeout, bool head) {
  http_result r;
  if (!impl_->open) {
    r.error = "not connected";
    return r;
  }
  auto t0 = clock_type::now();
  auto deadline = t0 + timeout;
  bool ka = false;
  run(impl_->ioc, read_one(*impl_->s, impl_->buf, deadline, head, false, r, ka), deadline,
      [&] { close_quietly(*impl_->s); }, r.error);
  if (!r.error.empty() || (!ka && r.status / 100 != 1)) impl_->drop();
  r.elapsed = since(t0);
  return r;
}

}  // namespace sg::test
