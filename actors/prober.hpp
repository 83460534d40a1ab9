#pragma once
// How node actors check health without knowing HTTP: http/ implements this on its I/O threads and
// calls `done` from there; the node actor turns that into a message to itself. Tests script it.
#include "actors/health_machine.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sg {

struct probe_result {
  probe_outcome outcome = probe_outcome::fail;
  int32_t http_status = 0;
  int32_t latency_ms = 0;
  int64_t latency_us = 0;  // the same, finer, for the latency histogram
  std::string error;       // empty when an HTTP answer arrived
};

struct probe_request {
  std::string url;
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds delay{0};  // wait this long before checking (the probe interval)
  // Set when the node actor is gone: a check still waiting for its delay is dropped.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

class prober {
 public:
  virtual ~prober() = default;
  // Checks `req.url` after `req.delay`; calls `done` exactly once (unless cancelled first), from
  // any thread, within delay + timeout (plus scheduling slack). Must not block. The delay runs on
  // the prober's own timers, so 10,000 nodes' intervals cost no actor messages.
  virtual void probe(probe_request req, std::function<void(probe_result)> done) = 0;
};

using prober_ptr = std::shared_ptr<prober>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.outcome, x.http_status, x.latency_ms,
           x.latency_us, x.error);
}

}  // namespace sg
