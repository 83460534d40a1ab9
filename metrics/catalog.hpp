#pragma once
// Every metric sgd exports, declared in one place: names (sgd_ prefix, base units), help texts
// and histogram buckets. Values live in lock-free counters next to what they measure; the
// /metrics endpoint reads them at scrape time (see http/metrics_endpoint.cpp).
#include "metrics/histogram.hpp"

#include <array>

namespace sg::metrics {

// Request durations: LLM calls run from milliseconds to minutes.
inline constexpr std::array<double, 15> request_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                        2.5,   5,    10,    30,   60,  120,  300};
// Health checks: a check times out after at most 60 s.
inline constexpr std::array<double, 10> check_buckets{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  1,    5};

using request_histogram = histogram<request_buckets.size()>;
using check_histogram = histogram<check_buckets.size()>;

struct family_info {
  const char* name;
  const char* help;
};

inline constexpr family_info requests_total{
    "sgd_requests_total", "Proxied requests by group, node and status class (error: no answer)"};
inline constexpr family_info request_duration{"sgd_request_duration_seconds",
                                              "Time from request header to the last response byte"};
inline constexpr family_info in_flight{"sgd_in_flight_requests",
                                       "Requests being forwarded to a node right now"};
inline constexpr family_info node_state{"sgd_node_state",
                                        "1 for the node's current state, 0 for the others"};
inline constexpr family_info health_checks{"sgd_health_checks_total",
                                           "Active health checks by result (pass, fail, drain)"};
inline constexpr family_info check_duration{"sgd_health_check_duration_seconds",
                                            "Health check latency"};
inline constexpr family_info connect_failures{"sgd_upstream_connect_failures_total",
                                              "Connections to a node that failed (passive checks)"};
inline constexpr family_info retries{"sgd_retries_total",
                                     "Requests sent to another node after a connect failure"};
inline constexpr family_info alerts{"sgd_alerts_total", "Alerts raised (degraded, unhealthy)"};
inline constexpr family_info bytes_received{"sgd_request_bytes_total",
                                            "Request body bytes received from callers"};
inline constexpr family_info bytes_sent{"sgd_response_bytes_total",
                                        "Response body bytes sent to callers"};
inline constexpr family_info rejected{"sgd_rejected_requests_total",
                                      "Requests answered by sgd itself, by reason"};
inline constexpr family_info registry_nodes{"sgd_registry_nodes",
                                            "Registered nodes per group on this controller"};
inline constexpr family_info peers_up{"sgd_cluster_peers_up", "Peer controllers connected now"};
inline constexpr family_info deltas_sent{"sgd_replication_deltas_sent_total",
                                         "Write deltas sent to peer controllers"};
inline constexpr family_info deltas_received{"sgd_replication_deltas_received_total",
                                             "Write deltas received from peer controllers"};
inline constexpr family_info anti_entropy_repairs{
    "sgd_anti_entropy_repairs_total",
    "Records exchanged by anti-entropy because replicas differed"};
inline constexpr family_info peer_clock_offset{
    "sgd_cluster_peer_clock_offset_seconds",
    "A peer controller's clock minus ours, measured on the anti-entropy round (RTT-corrected)"};
inline constexpr family_info clock_offset{
    "sgd_cluster_clock_offset_seconds", "This controller's clock minus its peers' (median)"};
inline constexpr family_info writes_refused{
    "sgd_cluster_writes_refused",
    "1 while this controller refuses writes because its clock is off beyond --max-clock-offset"};
inline constexpr family_info full_transfers{
    "sgd_cluster_full_transfers_total",
    "Full state transfers taken because this controller was away longer than the horizon"};
inline constexpr family_info stale_records_dropped{
    "sgd_cluster_stale_records_dropped_total",
    "Records older than a peer's tombstone horizon dropped on a full state transfer"};
inline constexpr family_info journal_batches{
    "sgd_registry_journal_batches_total", "Journal appends (one fdatasync each)"};
inline constexpr family_info journal_writes{
    "sgd_registry_journal_writes_total", "Writes journaled (several may share one batch)"};
inline constexpr family_info build_info{"sgd_build_info", "Always 1; the version as a label"};
inline constexpr family_info controller_draining{"sgd_controller_draining",
                                                 "1 while this controller drains (ping 418)"};
inline constexpr family_info cpu_seconds{"process_cpu_seconds_total",
                                         "User and system CPU time spent, in seconds"};
inline constexpr family_info resident_memory{"process_resident_memory_bytes",
                                             "Resident memory size in bytes"};
inline constexpr family_info open_fds{"process_open_fds", "Open file descriptors"};
inline constexpr family_info max_fds{"process_max_fds", "Limit on open file descriptors"};
inline constexpr family_info start_time{"process_start_time_seconds",
                                        "Start time of the process since the epoch, in seconds"};

}  // namespace sg::metrics
