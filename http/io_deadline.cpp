#include "http/io_deadline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <time.h>

namespace sg::http {

namespace asio = boost::asio;

std::shared_ptr<io_deadline> io_deadline::start(const asio::any_io_executor& ex) {
  auto d = std::make_shared<io_deadline>(ex);
  d->timer_.expires_at(clock::time_point::max());
  asio::co_spawn(ex, watch(d), asio::detached);
  return d;
}

namespace {

// CLOCK_MONOTONIC at the kernel tick's resolution (a few ms): steady_clock's own clock, read at
// a fraction of the cost, four times per proxied request. Deadlines of seconds do not mind.
io_deadline::clock::time_point coarse_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return io_deadline::clock::time_point(std::chrono::seconds(ts.tv_sec) +
                                        std::chrono::nanoseconds(ts.tv_nsec));
}

}  // namespace

io_deadline::clock::time_point io_deadline::now() {
  return coarse_now();
}

void io_deadline::arm(boost::beast::tcp_stream& stream, clock::duration d) {
  arm_until(stream, coarse_now() + d);
}

void io_deadline::arm_until(boost::beast::tcp_stream& stream, clock::time_point at) {
  target_ = &stream;
  fired_ = false;  // a cancel that raced a completed I/O must not be blamed on this one
  deadline_ = at;
  // Only a deadline earlier than the one the watchdog sleeps towards needs to wake it; a later
  // one (the common case: every request pushes it further out) costs nothing here.
  if (deadline_ < timer_.expiry()) timer_.cancel();
}

void io_deadline::close() {
  closed_ = true;
  target_ = nullptr;
  timer_.cancel();
}

asio::awaitable<void> io_deadline::watch(std::shared_ptr<io_deadline> self) {
  while (!self->closed_) {
    self->timer_.expires_at(self->deadline_);
    co_await self->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->closed_) break;
    if (self->target_ && clock::now() >= self->deadline_) {
      self->fired_ = true;
      boost::system::error_code ignored;
      self->target_->socket().cancel(ignored);
      self->disarm();
    }
  }
}

}  // namespace sg::http
