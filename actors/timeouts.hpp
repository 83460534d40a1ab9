#pragma once
// The nested waits of a registration, derived from one another so that each outer wait outlasts
// the inner ones it contains: the HTTP edge waits for the registry, which waits for the journal,
// the replication round and the group actor, which waits for the node's first health check.
#include "actors/specs.hpp"

#include <chrono>

namespace sg::timeouts {

using namespace std::chrono_literals;

// A node's first health check: its timeoutMs is at most this.
inline constexpr std::chrono::milliseconds first_check{max_check_timeout_ms};
// The group actor's answer to a registration: the first check plus scheduling slack.
inline constexpr auto group_reply = first_check + 10s;
// One journal write (append + fdatasync, or a compaction's rewrite).
inline constexpr auto journal_write = 10s;
// A delta's round trip to one peer; a peer that misses it catches up through anti-entropy.
inline constexpr std::chrono::milliseconds replication{1000};
// What the admin edge waits for a registration: everything above, plus slack.
inline constexpr auto registration = journal_write + replication + group_reply + 5s;
// What the admin edge waits for any other write: journal, replication, a group actor's reply.
inline constexpr auto write = journal_write + replication + 10s;
// A read answered by an actor.
inline constexpr auto ask = 10s;

}  // namespace sg::timeouts
