#pragma once
// N single-threaded io_contexts, one thread each (the nginx/HAProxy worker model): a connection
// and every upstream socket it uses live on one thread, so upstream pools are per thread and
// need no locks, and Asio skips its per-socket locking (other threads only post to a context).
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace sg::http {

class io_pool {
 public:
  explicit io_pool(unsigned threads);
  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(size_t i) { return *contexts_[i]; }
  // Runs every context on its own thread; the calling thread runs context 0. Returns when stopped.
  // `on_thread_exit` runs on each thread after its context stopped, while every context still
  // exists: the place to drop thread-local state that holds sockets.
  void run(const std::function<void()>& on_thread_exit = {});
  void stop();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<
      std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>>
      guards_;
};

}  // namespace sg::http
