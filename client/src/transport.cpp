#include "transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <vector>

#ifndef SGD_VERSION
#define SGD_VERSION "0"
#endif

namespace sg::client::detail {

namespace {
constexpr auto tok = net::as_tuple(net::use_awaitable);
}

void call_io::abort() {
  if (resolver) resolver->cancel();
  if (stream) stream->cancel();
}

std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

net::awaitable<std::string> connect_to(call_io& io, const base_url& url,
                                       std::chrono::milliseconds connect_timeout) {
  io.stream.reset();
  std::vector<tcp::endpoint> endpoints;
  beast::error_code aec;
  auto addr = net::ip::make_address(url.host, aec);
  if (!aec) {
    endpoints.emplace_back(addr, url.port);
  } else {
    io.resolver.emplace(io.ex);
    auto [rec, results] =
        co_await io.resolver->async_resolve(url.host, std::to_string(url.port), tok);
    io.resolver.reset();
    if (io.stopped()) co_return "stopped";
    if (rec) co_return "cannot resolve " + url.host + ": " + rec.message();
    for (const auto& e : results) endpoints.push_back(e.endpoint());
  }
  if (io.stopped()) co_return "stopped";
  io.stream.emplace(io.ex);
  io.stream->expires_after(connect_timeout);
  auto [cec, ep] = co_await io.stream->async_connect(endpoints, tok);
  if (cec) {
    io.stream.reset();
    if (cec == beast::error::timeout)
      co_return "connect timed out after " + std::to_string(connect_timeout.count()) + " ms";
    co_return describe(cec);
  }
  io.stream->expires_never();
  beast::error_code ignored;
  io.stream->socket().set_option(tcp::no_delay(true), ignored);
  co_return std::string();
}

net::awaitable<exchange_outcome> exchange(call_io& io, http::request<http::string_body>& req,
                                          std::size_t max_body) {
  exchange_outcome out;
  auto& s = *io.stream;
  auto [wec, wn] = co_await http::async_write(s, req, tok);
  if (wec) {
    out.ec = wec;
    out.sent_nothing = wn == 0;
    co_return out;
  }
  out.in_read = true;
  beast::flat_buffer buf;
  for (;;) {
    http::response_parser<http::string_body> p;
    p.body_limit(max_body);
    p.header_limit(64 * 1024);
    if (req.method() == http::verb::head) p.skip(true);
    auto [rec, rn] = co_await http::async_read(s, buf, p, tok);
    if (rec) {
      out.ec = rec;
      co_return out;
    }
    auto& m = p.get();
    int status = m.result_int();
    if (status >= 100 && status < 200 && status != 101) continue;  // interim answers
    out.res.status = status;
    for (const auto& f : m)
      out.res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.res.body = std::move(m.body());
    out.keep_alive = m.keep_alive() && !p.need_eof() && buf.size() == 0;
    co_return out;
  }
}

http::request<http::string_body> make_request(std::string_view method, const base_url& url,
                                              std::string_view target, std::string body,
                                              const header_list& a, const header_list& b) {
  http::request<http::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(url.prefix + std::string(target));
  req.set(http::field::host, url.host_header());
  req.set(http::field::user_agent, "sgd-client/" SGD_VERSION);
  req.set(http::field::accept, "application/json");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    req.set(http::field::content_type, "application/json");
  for (const auto* list : {&a, &b})
    for (const auto& [k, v] : *list) req.set(k, v);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

}  // namespace sg::client::detail
