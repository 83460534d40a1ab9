// http_call: one request on a private io_context, run on the caller's thread.
#include "sgd/client/http_call.hpp"

#include "transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/error.hpp>

#include <optional>

namespace sg::client {

using namespace detail;

namespace {

net::awaitable<void> run_call(call_io& io, const base_url& url, const http_request& in,
                              std::optional<result<response>>& out) {
  auto fail = [&](errc kind, std::string msg) {
    call_error e;
    e.kind = kind;
    e.controller = url.text;
    e.message = std::move(msg);
    out.emplace(std::move(e));
  };
  auto stopped = [&] {
    if (io.timed_out)
      fail(errc::timeout, "no answer from " + url.text + " within " +
                              std::to_string(in.timeout.count()) + " ms");
    else
      fail(errc::cancelled, "cancelled");
  };
  auto err = co_await connect_to(io, url, std::min(in.connect_timeout, in.timeout));
  if (!err.empty()) {
    if (io.stopped())
      stopped();
    else
      fail(errc::unreachable, "cannot reach " + url.text + ": " + err);
    co_return;
  }
  header_list extra = in.headers;
  if (!in.bearer_token.empty()) extra.emplace_back("Authorization", "Bearer " + in.bearer_token);
  auto req = make_request(in.method, url, in.target, in.body, {}, extra);
  auto r = co_await exchange(io, req, 64u << 20);
  if (r.ec) {
    if (io.stopped())
      stopped();
    else if (r.ec == http::error::body_limit)
      fail(errc::bad_response, "the answer from " + url.text + " is larger than 64 MiB");
    else if (r.sent_nothing)
      fail(errc::unreachable, "cannot reach " + url.text + ": " + describe(r.ec));
    else
      fail(errc::connection_lost, "connection to " + url.text + " lost " +
                                      (r.in_read ? "before the answer" : "while sending") +
                                      ": " + describe(r.ec));
    co_return;
  }
  r.res.controller = url.text;
  out.emplace(std::move(r.res));
}

}  // namespace

result<response> http_call(const http_request& in) {
  base_url url;
  std::string err;
  call_error bad;
  bad.kind = errc::invalid_argument;
  if (!parse_base_url(in.url, url, err))
    bad.message = err;
  else if (in.target.empty() || in.target[0] != '/' || !valid_target(in.target))
    bad.message = "bad request target '" + clip(in.target, 200) + "'";
  else if (in.method.empty() || !valid_target(in.method))
    bad.message = "bad method '" + clip(in.method, 40) + "'";
  if (!bad.message.empty()) return bad;

  net::io_context ioc;
  call_io io(ioc.get_executor());
  net::steady_timer watchdog(ioc);
  watchdog.expires_after(in.timeout);
  watchdog.async_wait([&](beast::error_code ec) {
    if (ec) return;
    io.timed_out = true;
    io.abort();
  });
  std::optional<result<response>> out;
  net::co_spawn(ioc,
                [&]() -> net::awaitable<void> {
                  co_await run_call(io, url, in, out);
                  watchdog.cancel();
                },
                net::detached);
  ioc.run();
  if (!out) {
    call_error e;
    e.kind = errc::bad_response;
    e.message = "internal error: the call did not complete";
    return e;
  }
  return std::move(*out);
}

}  // namespace sg::client
