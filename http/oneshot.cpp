#include "http/oneshot.hpp"

#include "http/answer_reader.hpp"
#include "http/resolve.hpp"
#include "http/upstream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <optional>

namespace sg::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::string request_bytes(const url_parts& u, const oneshot_request& in) {
  std::string out;
  auto method = bhttp::to_string(in.method);
  out.reserve(128 + u.path.size() + in.body.size());
  out.append(method.data(), method.size()).append(" ");
  out.append(u.path.empty() ? "/" : u.path).append(" HTTP/1.1\r\nHost: ").append(host_header(u));
  if (!in.user_agent.empty()) out.append("\r\nUser-Agent: ").append(in.user_agent);
  out.append("\r\nConnection: close\r\n");
  bool with_body = !in.body.empty() || in.method == bhttp::verb::post ||
                   in.method == bhttp::verb::put || in.method == bhttp::verb::patch;
  if (with_body) {
    if (!in.content_type.empty())
      out.append("Content-Type: ").append(in.content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(in.body.size())).append("\r\n");
  }
  out.append("\r\n").append(in.body);
  return out;
}

// One exchange's state, kept alive by the handlers that hold it. Every handler runs on the
// connection's executor; a timed-out exchange cancels the socket, and the aborted operation's
// handler reports the timeout with the step it was in.
class oneshot_conn : public std::enable_shared_from_this<oneshot_conn> {
 public:
  oneshot_conn(const asio::any_io_executor& ex, const url_parts& url, const oneshot_request& req,
               asio::ssl::context* tls, std::function<void(oneshot_result)> done)
      : sock_(ex),
        timer_(ex),
        url_(url),
        tls_ctx_(tls),
        timeout_(req.timeout),
        connect_only_(req.connect_only),
        request_(req.connect_only ? std::string{} : request_bytes(url, req)),
        reader_(req.keep_body, req.method == bhttp::verb::head),
        done_(std::move(done)) {}

  void start() {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->on_deadline();
    });
    error_code ec;
    auto addr = asio::ip::make_address(url_.host, ec);
    is_ip_ = !ec;
    if (is_ip_) {
      step_ = "connecting";
      sock_.async_connect(tcp::endpoint(addr, url_.port),
                          [self = shared_from_this()](error_code ec) { self->on_connect(ec); });
      return;
    }
    step_ = "resolving";
    resolver_.emplace(sock_.get_executor());
    resolve_timer_.emplace(sock_.get_executor(), timer_.expiry());
    async_resolve_within(*resolver_, *resolve_timer_, url_.host, std::to_string(url_.port),
                         [self = shared_from_this()](error_code ec, resolve_results r) {
                           self->on_resolve(ec, std::move(r));
                         });
  }

 private:
  void on_deadline() {
    if (finished_) return;
    timed_out_ = true;
    error_code ignored;
    sock_.cancel(ignored);  // the pending operation ends with operation_aborted
  }

  void on_resolve(error_code ec, resolve_results r) {
    if (finished_) return;
    if (ec) {
      bool t = timed_out_ || ec == asio::error::timed_out;
      return fail(
          "cannot resolve " + url_.host + ": " + (t ? std::string("timed out") : ec.message()), t);
    }
    step_ = "connecting";
    asio::async_connect(sock_, r, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec) {
      if (timed_out_) return fail("connect timed out", true);
      return fail("connect to " + host_header(url_) + " failed: " + ec.message(), false);
    }
    if (connect_only_) return finish();
    if (!url_.tls) return send();
    if (!tls_ctx_) return fail("https node but TLS is not configured", false);
    tls_.emplace(sock_, *tls_ctx_);
    if (!set_tls_peer(tls_->native_handle(), url_.host, is_ip_))
      return fail("cannot set TLS host name " + url_.host, false);
    step_ = "in the TLS handshake";
    tls_->async_handshake(asio::ssl::stream_base::client, [self =
                                                               shared_from_this()](error_code ec) {
      if (self->finished_) return;
      if (ec && !self->timed_out_)
        return self->fail(
            "TLS handshake with " + host_header(self->url_) + " failed: " + ec.message(), false);
      if (ec) return self->fail_io(ec);
      self->send();
    });
  }

  void send() {
    step_ = "sending the request";
    auto on_sent = [self = shared_from_this()](error_code ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->fail_io(ec);
      self->step_ = "waiting for the answer";
      self->read();
    };
    if (tls_)
      asio::async_write(*tls_, asio::buffer(request_), std::move(on_sent));
    else
      asio::async_write(sock_, asio::buffer(request_), std::move(on_sent));
  }

  void read() {
    size_t room = 0;
    char* at = reader_.prepare(room);
    auto on_read = [self = shared_from_this()](error_code ec, size_t n) {
      if (self->finished_) return;
      auto st = self->reader_.commit(n);
      if (st == answer_reader::state::need_more && ec) {
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
          st = self->reader_.eof();
        else
          return self->fail_io(ec);
      }
      if (self->reader_.in_body()) self->step_ = "reading the body";
      if (st == answer_reader::state::need_more) return self->read();
      if (st == answer_reader::state::failed) return self->fail(self->reader_.error(), false);
      self->finish();
    };
    if (tls_)
      tls_->async_read_some(asio::buffer(at, room), std::move(on_read));
    else
      sock_.async_read_some(asio::buffer(at, room), std::move(on_read));
  }

  // An I/O error after connecting: the deadline's, or the connection's.
  void fail_io(error_code ec) {
    if (timed_out_) {
      // A body cut off by the deadline still leaves the status answered.
      return fail(std::string("timed out ") + step_, true);
    }
    fail(std::string(reader_.status() ? "reading the body failed: " : "no HTTP answer: ") +
             ec.message(),
         false);
  }

  void fail(std::string why, bool timed_out) {
    oneshot_result r;
    r.status = reader_.status();
    r.body = reader_.body();
    r.error = std::move(why);
    r.timed_out = timed_out;
    complete(std::move(r));
  }

  void finish() {
    oneshot_result r;
    r.status = reader_.status();
    r.body = reader_.body();
    complete(std::move(r));
  }

  void complete(oneshot_result r) {
    finished_ = true;
    timer_.cancel();
    if (resolve_timer_) resolve_timer_->cancel();
    // Closed with a reset, as HAProxy closes its checks: the answer is in (or given up on), and
    // neither side keeps a one-shot connection in TIME_WAIT or FIN states.
    error_code ignored;
    if (sock_.is_open()) {
      sock_.set_option(asio::socket_base::linger(true, 0), ignored);
      sock_.close(ignored);
    }
    auto done = std::move(done_);
    done(std::move(r));
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  std::optional<tcp::resolver> resolver_;
  std::optional<asio::steady_timer> resolve_timer_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  url_parts url_;
  asio::ssl::context* tls_ctx_;
  std::chrono::milliseconds timeout_;
  bool connect_only_;
  bool is_ip_ = false;
  bool finished_ = false;
  bool timed_out_ = false;
  const char* step_ = "connecting";
  std::string request_;
  answer_reader reader_;
  std::function<void(oneshot_result)> done_;
};

}  // namespace

void start_oneshot(const asio::any_io_executor& ex, const url_parts& url,
                   const oneshot_request& req, asio::ssl::context* tls,
                   std::function<void(oneshot_result)> done) {
  std::make_shared<oneshot_conn>(ex, url, req, tls, std::move(done))->start();
}

asio::awaitable<oneshot_result> send_oneshot(const url_parts& url, const oneshot_request& req,
                                             asio::ssl::context* tls) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(oneshot_result)>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start_oneshot(ex, url, req, tls, [h](oneshot_result r) { std::move (*h)(std::move(r)); });
      },
      asio::use_awaitable);
}

}  // namespace sg::http
