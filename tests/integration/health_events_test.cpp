// Events and alerts: the /api/events SSE stream (alerts raised and resolved in order, resume with
// Last-Event-ID) and --alert-webhook POSTs received by a small HTTP receiver in the test.
#include "tests/integration/health_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace {

// A tiny webhook receiver on 127.0.0.1: one request per connection, answers 200, keeps every
// request head and body.
class hook_receiver {
 public:
  struct received {
    std::string head;
    std::string body;
  };

  hook_receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~hook_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  hook_receiver(const hook_receiver&) = delete;
  hook_receiver& operator=(const hook_receiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<received> got() {
    std::lock_guard<std::mutex> g{mutex_};
    return got_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }

  // Reads one request (Content-Length framed), answers 200.
  void serve(int c) {
    timeval tv{2, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t need = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string lower = in.substr(0, head_end);
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char ch) { return std::tolower(ch); });
          auto cl = lower.find("content-length:");
          need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
        }
      }
      if (head_end != std::string::npos && in.size() >= head_end + 4 + need) break;
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    static constexpr char ok[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::send(c, ok, sizeof ok - 1, MSG_NOSIGNAL);
    std::lock_guard<std::mutex> g{mutex_};
    got_.push_back({in.substr(0, head_end), in.substr(head_end + 4, need)});
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<received> got_;
};

// Takes A down to unhealthy and back to healthy.
void fail_and_recover(const sgd_instance& sgd, const std::string& g, test_node_process& a,
                      const std::string& id) {
  a.set_health(500);
  REQUIRE(wait_status(sgd, g, id, "unhealthy"));
  a.set_health(200);
  REQUIRE(wait_status(sgd, g, id, "healthy"));
}

}  // namespace

TEST_CASE("health: alerts are raised and resolved in order on the live event stream", "[health]") {
  test_node_process a("he-a"), b("he-b");
  sgd_instance sgd;
  const std::string g = "health-events";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  auto nb = register_node(sgd, g, b);

  // Subscribe first, then cause the transitions: they arrive live.
  std::atomic<int> seen{0};
  auto live = std::async(std::launch::async, [&] {
    return read_events(
        sgd.admin_port(),
        [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); }, 15s,
        &seen);
  });
  REQUIRE(wait_until([&] { return seen.load() >= 2; }, 3s));  // the two registrations, replayed
  fail_and_recover(sgd, g, a, na.id);
  REQUIRE(live.wait_for(5s) == std::future_status::ready);
  auto evs = live.get();

  auto mine = of_node(evs, na.id);
  REQUIRE(transitions(mine) == std::vector<std::string>{">healthy/", "healthy>degraded/raised",
                                                         "degraded>unhealthy/raised",
                                                         "unhealthy>healthy/resolved"});
  std::vector<int> failures;
  for (auto& e : mine) failures.push_back(e.failures);
  CHECK(failures == std::vector<int>{0, 1, 3, 0});
  for (size_t i = 0; i < mine.size(); ++i) {
    INFO(mine[i].data);
    CHECK(mine[i].id == mine[i].seq);
    CHECK(mine[i].group == g);
    CHECK(mine[i].name == "he-a");
    CHECK(mine[i].at_ms > 0);
    if (i) {
      CHECK(mine[i].seq > mine[i - 1].seq);
      CHECK(mine[i].at_ms >= mine[i - 1].at_ms);
    }
  }
  CHECK(mine[1].detail == "HTTP 500, expected 200-299");
  CHECK(mine[2].detail == "HTTP 500, expected 200-299");
  // B had no transition after its registration, and raised nothing.
  auto theirs = of_node(evs, nb.id);
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].alert.empty());
  // Every event's seq is unique and increasing over the whole stream.
  for (size_t i = 1; i < evs.size(); ++i) CHECK(evs[i].seq > evs[i - 1].seq);

  // Resuming with Last-Event-ID replays only what came after that event.
  auto resumed = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); },
      3s, nullptr, {{"Last-Event-ID", std::to_string(mine[1].seq)}});
  REQUIRE(!resumed.empty());
  CHECK(resumed.front().seq == mine[1].seq + 1);
  CHECK(transitions(of_node(resumed, na.id)) ==
        std::vector<std::string>{"degraded>unhealthy/raised", "unhealthy>healthy/resolved"});
}

TEST_CASE("health: --alert-webhook POSTs every event as JSON", "[health]") {
  hook_receiver hook;
  test_node_process a("hw-a");
  sgd_options o;
  o.extra_args = {"--alert-webhook", "http://127.0.0.1:" + std::to_string(hook.port()) + "/hooks/sgd"};
  sgd_instance sgd(o);
  const std::string g = "health-webhook";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  fail_and_recover(sgd, g, a, na.id);

  // Deliveries run concurrently: wait for all four, then order them by seq.
  std::vector<sse_event> posted;
  std::vector<hook_receiver::received> raw;
  REQUIRE(wait_until(
      [&] {
        raw = hook.got();
        return raw.size() >= 4;
      },
      5s));
  for (auto& r : raw) {
    INFO(r.head << "\n\n" << r.body);
    CHECK(r.head.rfind("POST /hooks/sgd HTTP/1.1\r\n", 0) == 0);
    std::string lower = r.head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    CHECK(lower.find("content-type: application/json") != std::string::npos);
    auto e = parse_event_json(r.body);
    CHECK(e.seq > 0);
    posted.push_back(e);
  }
  std::sort(posted.begin(), posted.end(), [](auto& x, auto& y) { return x.seq < y.seq; });
  auto mine = of_node(posted, na.id);
  REQUIRE(transitions(mine) == std::vector<std::string>{">healthy/", "healthy>degraded/raised",
                                                         "degraded>unhealthy/raised",
                                                         "unhealthy>healthy/resolved"});
  // The same JSON as the SSE stream carries for those events.
  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); },
      3s);
  auto streamed = of_node(evs, na.id);
  REQUIRE(streamed.size() == mine.size());
  for (size_t i = 0; i < mine.size(); ++i) CHECK(streamed[i].data == mine[i].data);
  // Nothing more than those (no duplicates, no retries of delivered events). A retry would
  // follow 200 ms after an attempt, so time must pass first: two more passing checks (200 ms
  // apart) counted in /metrics, then the next, failing, check. Its event must arrive as the only
  // new delivery: the sender is still delivering, and repeated nothing meanwhile.
  auto passes = checks_counted(sgd, na.id, "pass");
  REQUIRE(passes >= 1);
  REQUIRE(wait_until([&] { return checks_counted(sgd, na.id, "pass") >= passes + 2; }, 3s));
  a.set_health(500);
  std::vector<hook_receiver::received> later;
  REQUIRE(wait_until(
      [&] {
        later = hook.got();
        return later.size() > raw.size();
      },
      5s));
  REQUIRE(later.size() == raw.size() + 1);
  auto fence = parse_event_json(later.back().body);
  INFO(later.back().body);
  CHECK(fence.node_id == na.id);
  CHECK(fence.to == "degraded");
  CHECK(fence.seq > mine.back().seq);
}
