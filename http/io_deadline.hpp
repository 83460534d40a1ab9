#pragma once
// One lazily re-armed timer per proxied connection instead of Beast's timer armed and cancelled
// around every read and write. arm() only stores a time point; the watchdog coroutine sleeps
// until the earliest deadline it knows, re-checks, and cancels the watched stream's socket when
// the deadline has really passed. The I/O that was waiting then ends with operation_aborted, which
// take_timeout() turns into beast::error::timeout.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>

namespace sg::http {

class io_deadline {
 public:
  using clock = std::chrono::steady_clock;

  // Starts the watchdog on `ex`. Call close() when the connection ends.
  static std::shared_ptr<io_deadline> start(const boost::asio::any_io_executor& ex);

  // The next I/O on `stream` must complete within `d` (or the stream's socket is cancelled).
  void arm(boost::beast::tcp_stream& stream, clock::duration d);
  // The same with a fixed end: I/O in between (interim answers) does not push it out.
  void arm_until(boost::beast::tcp_stream& stream, clock::time_point at);
  static clock::time_point now();  // the coarse clock deadlines are kept in
  // No deadline (e.g. a connection handed back to a pool is no longer ours to cancel).
  void disarm() {
    target_ = nullptr;
    deadline_ = clock::time_point::max();
  }
  // True once if the watchdog cancelled the stream since the last call.
  bool take_timeout() {
    bool f = fired_;
    fired_ = false;
    return f;
  }
  void close();

  explicit io_deadline(const boost::asio::any_io_executor& ex) : timer_(ex) {}

 private:
  static boost::asio::awaitable<void> watch(std::shared_ptr<io_deadline> self);

  boost::asio::steady_timer timer_;
  clock::time_point deadline_ = clock::time_point::max();
  boost::beast::tcp_stream* target_ = nullptr;
  bool fired_ = false;
  bool closed_ = false;
};

}  // namespace sg::http
