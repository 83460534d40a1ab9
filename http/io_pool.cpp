#include "http/io_pool.hpp"

namespace sg::http {

io_pool::io_pool(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    // Only this context's thread does I/O on its sockets (other threads post to it), so the
    // per-socket locks go; the scheduler and registration locks stay for those posts.
    contexts_.push_back(
        std::make_unique<boost::asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
    guards_.push_back(
        std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
            contexts_.back()->get_executor()));
  }
}

void io_pool::run(const std::function<void()>& on_thread_exit) {
  auto body = [&](size_t i) {
    contexts_[i]->run();
    if (on_thread_exit) on_thread_exit();
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back(body, i);
  body(0);
  for (auto& t : threads) t.join();
}

void io_pool::stop() {
  for (auto& g : guards_) g->reset();
  for (auto& c : contexts_) c->stop();
}

}  // namespace sg::http
