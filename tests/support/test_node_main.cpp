// test_node: a controllable HTTP/1.1 (or HTTPS) backend for integration tests. Echoes requests
// as JSON with the SHA-256 of the streamed body, and serves /health, /control/*, /sse, /slow,
// /download and /drop. Async Beast on two I/O threads; SIGTERM/SIGINT exit 0.
#include "tests/support/data_pattern.hpp"
#include "tests/support/sha256.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sg::test {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

constexpr auto tok = net::as_tuple(net::use_awaitable);
constexpr auto idle_timeout = std::chrono::seconds(300);
constexpr std::size_t piece_size = 64 * 1024;

struct node_state {
  std::string name;
  std::atomic<int> health{200};
  std::atomic<int> delay_ms{0};
  std::atomic<int> status{200};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::int64_t> in_flight{0};
};

struct in_flight_guard {
  std::atomic<std::int64_t>& n;
  explicit in_flight_guard(std::atomic<std::int64_t>& c) : n(c) { ++n; }
  ~in_flight_guard() { --n; }
};

// The integer value of `key` in a query string, if present and numeric.
std::optional<long long> query_int(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != key) continue;
    auto v = pair.substr(eq + 1);
    long long out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec == std::errc{} && p == v.data() + v.size()) return out;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(json_writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// What the default handler reports about a request.
struct request_info {
  std::string method, path, query;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-cased names, in order
  std::uint64_t body_bytes = 0;
  std::string body_sha256;
};

std::string echo_json(const node_state& st, const request_info& ri) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  put(w, "node", st.name);
  put(w, "method", ri.method);
  put(w, "path", ri.path);
  put(w, "query", ri.query);
  w.Key("bodyBytes");
  w.Uint64(ri.body_bytes);
  put(w, "bodySha256", ri.body_sha256);
  // Repeated fields are joined with ", " (one JSON member per name).
  std::vector<std::pair<std::string, std::string>> merged;
  for (auto& [k, v] : ri.headers) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](auto& p) { return p.first == k; });
    if (it == merged.end())
      merged.emplace_back(k, v);
    else
      it->second += ", " + v;
  }
  w.Key("headers");
  w.StartObject();
  for (auto& [k, v] : merged) put(w, k.c_str(), v);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string small_json(std::initializer_list<std::pair<const char*, long long>> ints,
                       const std::string* node = nullptr) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  if (node) put(w, "node", *node);
  for (auto& [k, v] : ints) {
    w.Key(k);
    w.Int64(v);
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

bool no_body_status(int code) {
  return code / 100 == 1 || code == 204 || code == 304;
}

// Writes a complete response with a (small) string body; HEAD gets the header only.
template <class Stream>
net::awaitable<bool> reply(Stream& s, const node_state& st, unsigned version, bool keep_alive,
                           bool head, int code, std::string body,
                           const char* content_type = "application/json") {
  if (no_body_status(code)) body.clear();
  http::response<http::string_body> res{static_cast<http::status>(code), version};
  res.set(http::field::server, "sg-test-node");
  res.set("X-Node", st.name);
  if (!no_body_status(code)) res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  if (head) {
    http::response<http::empty_body> h{static_cast<http::status>(code), version};
    h.base() = res.base();
    if (!no_body_status(code)) h.content_length(body.size());
    beast::get_lowest_layer(s).expires_after(idle_timeout);
    auto [ec, n] = co_await http::async_write(s, h, tok);
    co_return !ec;
  }
  res.body() = std::move(body);
  if (!no_body_status(code)) res.prepare_payload();
  beast::get_lowest_layer(s).expires_after(idle_timeout);
  auto [ec, n] = co_await http::async_write(s, res, tok);
  co_return !ec;
}

template <class Stream>
net::awaitable<bool> serve_sse(Stream& s, const node_state& st, unsigned version, bool keep_alive,
                               std::string_view query) {
  auto events = std::clamp<long long>(query_int(query, "events").value_or(10), 0, 1000000);
  auto interval = std::clamp<long long>(query_int(query, "interval_ms").value_or(100), 0, 3600000);
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::server, "sg-test-node");
  res.set("X-Node", st.name);
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  beast::get_lowest_layer(s).expires_after(idle_timeout);
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) co_return false;
  net::steady_timer timer(co_await net::this_coro::executor);
  for (long long i = 0; i < events; ++i) {
    if (i > 0 && interval > 0) {
      timer.expires_after(std::chrono::milliseconds(interval));
      co_await timer.async_wait(tok);
    }
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    w.Key("n");
    w.Int64(i);
    put(w, "node", st.name);
    w.EndObject();
    std::string ev = "data: " + std::string(sb.GetString(), sb.GetSize()) + "\n\n";
    beast::get_lowest_layer(s).expires_after(idle_timeout);
    auto [ec, n] = co_await net::async_write(s, http::make_chunk(net::buffer(ev)), tok);
    if (ec) co_return false;
  }
  beast::get_lowest_layer(s).expires_after(idle_timeout);
  auto [ec, n] = co_await net::async_write(s, http::make_chunk_last(), tok);
  co_return !ec;
}

template <class Stream>
net::awaitable<bool> serve_download(Stream& s, const node_state& st, unsigned version,
                                    bool keep_alive, std::string_view query) {
  auto bytes =
      static_cast<std::uint64_t>(std::max<long long>(query_int(query, "bytes").value_or(0), 0));
  bool chunked = query_int(query, "chunked").value_or(0) != 0;
  http::response<http::buffer_body> res{http::status::ok, version};
  res.set(http::field::server, "sg-test-node");
  res.set("X-Node", st.name);
  res.set(http::field::content_type, "application/octet-stream");
  res.keep_alive(keep_alive);
  if (chunked)
    res.chunked(true);
  else
    res.content_length(bytes);
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = true;
  http::response_serializer<http::buffer_body> sr{res};
  beast::get_lowest_layer(s).expires_after(idle_timeout);
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) co_return false;
  std::vector<char> piece(piece_size);
  for (std::uint64_t off = 0; off < bytes;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), bytes - off));
    fill_pattern(off, piece.data(), n);
    res.body().data = piece.data();
    res.body().size = n;
    res.body().more = true;
    beast::get_lowest_layer(s).expires_after(idle_timeout);
    auto [ec, w] = co_await http::async_write(s, sr, tok);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
    off += n;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  beast::get_lowest_layer(s).expires_after(idle_timeout);
  auto [ec, w] = co_await http::async_write(s, sr, tok);
  co_return !ec;
}

// /control/*: the answer (status, JSON body). Applied at once, whatever the configured delay.
std::pair<int, std::string> control(node_state& st, std::string_view path, std::string_view query) {
  auto valid_status = [](std::optional<long long> v) { return v && *v >= 100 && *v <= 599; };
  if (path == "/control/health") {
    auto v = query_int(query, "status");
    if (!valid_status(v)) return {400, "{\"error\":\"status must be 100..599\"}\n"};
    st.health = static_cast<int>(*v);
    return {200, small_json({{"health", *v}}, &st.name)};
  }
  if (path == "/control/status") {
    auto v = query_int(query, "code");
    if (!valid_status(v)) return {400, "{\"error\":\"code must be 100..599\"}\n"};
    st.status = static_cast<int>(*v);
    return {200, small_json({{"status", *v}}, &st.name)};
  }
  if (path == "/control/delay") {
    auto v = query_int(query, "ms");
    if (!v || *v < 0 || *v > 3600000) return {400, "{\"error\":\"ms must be 0..3600000\"}\n"};
    st.delay_ms = static_cast<int>(*v);
    return {200, small_json({{"delayMs", *v}}, &st.name)};
  }
  if (path == "/control/reset") {
    st.health = 200;
    st.status = 200;
    st.delay_ms = 0;
    return {200, small_json({}, &st.name)};
  }
  if (path == "/control/stats") {
    return {200, small_json({{"requests", static_cast<long long>(st.requests.load())},
                             {"inFlight", static_cast<long long>(st.in_flight.load())},
                             {"health", st.health.load()},
                             {"status", st.status.load()},
                             {"delayMs", st.delay_ms.load()}},
                            &st.name)};
  }
  return {404, "{\"error\":\"unknown control endpoint\"}\n"};
}

std::string health_json(const node_state& st, int code) {
  return small_json({{"status", code}}, &st.name);
}

// One connection: requests in a loop until the peer closes, an error, or Connection: close.
template <class Stream>
net::awaitable<void> serve(Stream& s, node_state& st) {
  beast::flat_buffer buf;
  std::vector<char> piece(piece_size);
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    http::request_parser<http::buffer_body> p;
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    p.header_limit(256 * 1024);
    beast::get_lowest_layer(s).expires_after(idle_timeout);
    auto [ec, n] = co_await http::async_read_header(s, buf, p, tok);
    if (ec) co_return;
    auto& req = p.get();
    request_info ri;
    ri.method = std::string(req.method_string());
    std::string_view target = req.target();
    auto qm = target.find('?');
    ri.path = std::string(target.substr(0, qm));
    ri.query = qm == std::string_view::npos ? std::string() : std::string(target.substr(qm + 1));
    for (auto& f : req) ri.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    bool head = req.method() == http::verb::head;

    if (beast::iequals(req[http::field::expect], "100-continue") && !p.is_done()) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      beast::get_lowest_layer(s).expires_after(idle_timeout);
      auto [cec, cn] = co_await http::async_write(s, cont, tok);
      if (cec) co_return;
    }
    // Stream the body through SHA-256, 64 KiB at a time.
    sha256 hasher;
    while (!p.is_done()) {
      req.body().data = piece.data();
      req.body().size = piece.size();
      beast::get_lowest_layer(s).expires_after(idle_timeout);
      auto [rec, rn] = co_await http::async_read(s, buf, p, tok);
      if (rec == http::error::need_buffer) rec = {};
      if (rec) co_return;
      auto got = piece.size() - req.body().size;
      hasher.update(piece.data(), got);
      ri.body_bytes += got;
    }
    ri.body_sha256 = hasher.hex();

    bool ok = true;
    if (ri.path.rfind("/control/", 0) == 0) {
      auto [code, body] = control(st, ri.path, ri.query);
      ok = co_await reply(s, st, version, keep_alive, head, code, std::move(body));
    } else if (ri.path == "/health") {
      int code = st.health;
      ok = co_await reply(s, st, version, keep_alive, head, code, health_json(st, code));
    } else {
      ++st.requests;
      in_flight_guard guard(st.in_flight);
      if (ri.path == "/drop") co_return;  // close without answering
      long long delay = st.delay_ms;
      if (ri.path == "/slow")
        delay = std::clamp<long long>(query_int(ri.query, "ms").value_or(0), 0, 3600000);
      if (delay > 0) {
        timer.expires_after(std::chrono::milliseconds(delay));
        co_await timer.async_wait(tok);
      }
      if (ri.path == "/early-hints" && version >= 11) {
        // An interim 103 before the answer: the proxy must skip it and relay the final one.
        static constexpr std::string_view hints =
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
        beast::get_lowest_layer(s).expires_after(idle_timeout);
        auto [hec, hn] = co_await net::async_write(s, net::buffer(hints), tok);
        if (hec) co_return;
      }
      if (ri.path == "/sse")
        ok = co_await serve_sse(s, st, version, keep_alive, ri.query);
      else if (ri.path == "/download")
        ok = co_await serve_download(s, st, version, keep_alive, ri.query);
      else
        ok = co_await reply(s, st, version, keep_alive, head, st.status, echo_json(st, ri));
    }
    if (!ok || !keep_alive) co_return;
  }
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::cerr << "test_node: session error: " << x.what() << std::endl;
  } catch (...) {
  }
}

net::awaitable<void> plain_session(tcp::socket sock, node_state& st) {
  beast::tcp_stream s(std::move(sock));
  co_await serve(s, st);
  boost::system::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
  s.socket().close(ec);
}

net::awaitable<void> tls_session(tcp::socket sock, ssl::context& ctx, node_state& st) {
  beast::ssl_stream<beast::tcp_stream> s(std::move(sock), ctx);
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
  auto [ec] = co_await s.async_handshake(ssl::stream_base::server, tok);
  if (ec) co_return;
  co_await serve(s, st);
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(2));
  co_await s.async_shutdown(tok);
  boost::system::error_code ignored;
  beast::get_lowest_layer(s).socket().close(ignored);
}

net::awaitable<void> accept_loop(tcp::acceptor& acc, node_state& st, ssl::context* tls) {
  auto& ioc = static_cast<net::io_context&>(acc.get_executor().context());
  net::steady_timer backoff(acc.get_executor());
  for (;;) {
    net::any_io_executor ex = net::make_strand(ioc);
    auto [ec, sock] = co_await acc.async_accept(ex, tok);
    if (ec == net::error::operation_aborted) co_return;
    if (ec) {  // e.g. EMFILE: back off instead of spinning
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(tok);
      continue;
    }
    if (tls)
      net::co_spawn(ex, tls_session(std::move(sock), *tls, st), log_exception);
    else
      net::co_spawn(ex, plain_session(std::move(sock), st), log_exception);
  }
}

struct options {
  int port = 0;
  std::string name = "node";
  std::string ready_file;
  std::string tls_cert, tls_key;
};

int usage(const std::string& why) {
  std::cerr << "test_node: " << why << "\n"
            << "usage: test_node [--port N] [--name NAME] [--ready-file F] "
               "[--tls-cert F --tls-key F]\n";
  return 2;
}

bool write_ready_file(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"port\":" << port << "}\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

int run(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--port" && value(v)) {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.port);
      if (ec != std::errc{} || p != v.data() + v.size() || o.port < 0 || o.port > 65535)
        return usage("bad --port " + v);
    } else if (a == "--name" && value(o.name)) {
    } else if (a == "--ready-file" && value(o.ready_file)) {
    } else if (a == "--tls-cert" && value(o.tls_cert)) {
    } else if (a == "--tls-key" && value(o.tls_key)) {
    } else {
      return usage("bad argument " + a);
    }
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) return usage("--tls-cert and --tls-key go together");
  std::signal(SIGPIPE, SIG_IGN);

  node_state st;
  st.name = o.name;
  std::optional<ssl::context> tls;
  if (!o.tls_cert.empty()) {
    tls.emplace(ssl::context::tls_server);
    boost::system::error_code ec;
    tls->use_certificate_chain_file(o.tls_cert, ec);
    if (!ec) tls->use_private_key_file(o.tls_key, ssl::context::pem, ec);
    if (ec) {
      std::cerr << "test_node: cannot load TLS files: " << ec.message() << std::endl;
      return 1;
    }
  }

  net::io_context ioc{2};
  tcp::acceptor acc(ioc);
  boost::system::error_code ec;
  tcp::endpoint ep{net::ip::address_v4::loopback(), static_cast<unsigned short>(o.port)};
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "test_node: cannot listen on 127.0.0.1:" << o.port << ": " << ec.message()
              << std::endl;
    return 1;
  }
  int port = acc.local_endpoint().port();
  net::co_spawn(ioc, accept_loop(acc, st, tls ? &*tls : nullptr), log_exception);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& e, int) {
    if (!e) ioc.stop();
  });
  if (!o.ready_file.empty() && !write_ready_file(o.ready_file, port)) {
    std::cerr << "test_node: cannot write ready file " << o.ready_file << std::endl;
    return 1;
  }
  std::cerr << "test_node " << o.name << " listening on 127.0.0.1:" << port
            << (tls ? " (https)" : "") << std::endl;

  std::thread second([&] { ioc.run(); });
  ioc.run();
  second.join();
  std::cerr << "test_node " << o.name << " stopping" << std::endl;
  std::fflush(nullptr);
  // Skip destructors of in-flight sessions: nothing left to flush, and exit must be prompt.
  ::_exit(0);
}

}  // namespace
}  // namespace sg::test

int main(int argc, char** argv) {
  return sg::test::run(argc, argv);
}
