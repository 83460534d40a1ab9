#pragma once
// How node actors check health without knowing HTTP: http/ implements this on its I/O threads and
// calls `done` from there; the node actor turns that into a message to itself. Tests script it.
#include "actors/health_machine.hpp"
#include "actors/specs.hpp"
#include "actors/url.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace sg {

struct probe_result {
  probe_outcome outcome = probe_outcome::fail;
  int32_t http_status = 0;
  int32_t latency_ms = 0;
  int64_t latency_us = 0;  // the same, finer, for the latency histogram
  std::string error;       // why it failed; empty when it passed or asked for a drain
  std::string body;        // the answer's first bytes (body_excerpt), for the node's view
};

// What a node's checks go to and how they are judged: built by the node actor when its spec or
// its group's settings change, shared by every check until then (no per-check parsing).
struct check_target {
  std::string url;                // as configured (healthUrl, or baseUrl + path)
  std::optional<url_parts> parts;  // nullopt: `url` is not an absolute http(s) URL
  health_settings settings;        // type, timeout, expectations
};

struct probe_request {
  std::shared_ptr<const check_target> target;
  std::chrono::milliseconds delay{0};  // wait this long before checking (the probe interval)
  // Set when the node actor is gone: a check still waiting for its delay is dropped.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

class prober {
 public:
  virtual ~prober() = default;
  // Checks `req.target` after `req.delay`; calls `done` exactly once (unless cancelled first), from
  // any thread, within delay + timeout (plus scheduling slack). Must not block. The delay runs on
  // the prober's own timers, so 10,000 nodes' intervals cost no actor messages.
  virtual void probe(probe_request req, std::function<void(probe_result)> done) = 0;
};

using prober_ptr = std::shared_ptr<prober>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.outcome, x.http_status, x.latency_ms,
           x.latency_us, x.error, x.body);
}

}  // namespace sg
