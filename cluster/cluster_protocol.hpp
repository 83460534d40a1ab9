#pragma once
// What controllers say to each other over CAF's middleman: a challenge-response handshake on the
// shared cluster secret, write deltas (acknowledged once journaled), and anti-entropy digests
// answered with the records of the buckets that differ.
#include "cluster/records.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sg {

// What controllers exchange is CAF's binary form of the records below and the specs inside
// them, so adding a field changes it: peers must speak the same version, and the handshake says
// which one each speaks. 1: up to the deeper health checks; 2: health_settings gained type, path,
// expectStatus, expectBody and deregisterAfterMs.
inline constexpr uint32_t cluster_protocol_version = 2;

using hello_atom =
    caf::atom_constant<caf::atom("clhello")>;  // (from_id, nonce, version) -> (nonce, id, hmac)
using auth_atom = caf::atom_constant<caf::atom("clauth")>;  // (from_id, hmac) -> my id
using repl_atom = caf::atom_constant<caf::atom("clrepl")>;  // (from, groups, nodes) -> applied
using digest_atom = caf::atom_constant<caf::atom("cldigest")>;     // (digest_msg) -> repair_msg
using peer_up_atom = caf::atom_constant<caf::atom("peerup")>;      // link -> registry
using peer_down_atom = caf::atom_constant<caf::atom("peerdown")>;  // link -> registry
using cl_info_atom = caf::atom_constant<caf::atom("clinfo")>;      // -> cluster_info
using ae_tick_atom = caf::atom_constant<caf::atom("aetick")>;      // anti-entropy timer
using connect_try_atom = caf::atom_constant<caf::atom("cltry")>;   // peer link retry timer
using clock_atom = caf::atom_constant<caf::atom("clclock")>;       // (from) -> unix ms (gate)
using link_atom = caf::atom_constant<caf::atom("cllink")>;         // link -> registry: (addr, link)
using kick_atom = caf::atom_constant<caf::atom("clkick")>;         // registry -> link: retry now
using peer_seen_atom = caf::atom_constant<caf::atom("clseen")>;    // gate -> registry: (from id)
using commit_atom = caf::atom_constant<caf::atom("clcommit")>;     // registry: flush the next batch

// A controller's claim about how current its state is: when it last completed an exchange with
// a peer, and below which stamp it may have forgotten deletes (now - tombstone TTL). Unix ms.
struct freshness {
  uint64_t last_contact_ms = 0;
  uint64_t horizon_ms = 0;
};

struct digest_msg {
  std::string from;
  std::vector<uint64_t> buckets;
  uint64_t max_hlc = 0;
  freshness fresh;
};

enum class repair_mode : uint8_t {
  buckets = 0,  // the records of the differing buckets
  full = 1,     // the asker is older than our horizon: every record, to rebase on
  refused = 2,  // we are older than the asker's horizon: we ask for a full transfer instead
};

struct repair_msg {
  std::vector<char> buckets;  // 1 where the digests differed
  std::vector<group_record> groups;
  std::vector<node_record> nodes;
  uint64_t max_hlc = 0;
  repair_mode mode = repair_mode::buckets;
  freshness fresh;
};

// True when `a` must rebase on a full state transfer from `b` instead of merging: `a` has been
// out of contact since before `b`'s horizon, so `b` may have forgotten deletes that `a`'s old
// records would undo. When each is that far behind the other, the one out of contact longer
// yields (then the lower id), so exactly one side rebases.
bool needs_transfer(const freshness& a, const std::string& a_id, const freshness& b,
                    const std::string& b_id);

struct peer_info {
  std::string address;
  std::string controller_id;
  std::string state;  // connected | connecting | disconnected
  int64_t last_seen_ms = 0;
  int64_t lag_ms = 0;  // how far this peer's newest record trails ours (last digest)
  uint64_t deltas_sent = 0, deltas_received = 0, repairs = 0;
  bool clock_measured = false;
  int64_t clock_offset_ms = 0;  // the peer's clock minus ours, RTT-corrected
  int64_t rtt_ms = 0;
};

struct cluster_info {
  std::string controller_id;
  std::string cluster_address;
  std::vector<peer_info> peers;
  std::string digest;  // hex hash of the 64 bucket digests
  uint64_t records = 0;
  uint64_t tombstones = 0;
  int64_t max_clock_offset_ms = 0;
  bool clock_measured = false;
  int64_t clock_offset_ms = 0;  // our clock minus the peers' (median)
  bool writes_refused = false;
  uint64_t full_transfers = 0, stale_records_dropped = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, freshness& x) {
  return f(caf::meta::type_name("freshness"), x.last_contact_ms, x.horizon_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, digest_msg& x) {
  return f(caf::meta::type_name("digest_msg"), x.from, x.buckets, x.max_hlc, x.fresh);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, repair_msg& x) {
  return f(caf::meta::type_name("repair_msg"), x.buckets, x.groups, x.nodes, x.max_hlc, x.mode,
           x.fresh);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("peer_info"), x.address, x.controller_id, x.state, x.last_seen_ms,
           x.lag_ms, x.deltas_sent, x.deltas_received, x.repairs, x.clock_measured,
           x.clock_offset_ms, x.rtt_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
  return f(caf::meta::type_name("cluster_info"), x.controller_id, x.cluster_address, x.peers,
           x.digest, x.records, x.tombstones, x.max_clock_offset_ms, x.clock_measured,
           x.clock_offset_ms, x.writes_refused, x.full_transfers, x.stale_records_dropped);
}

// HMAC-SHA256(secret, nonce | from | to) in hex: proves the secret without sending it.
std::string cluster_proof(const std::string& secret, const std::string& nonce,
                          const std::string& from, const std::string& to);
std::string random_nonce();
// Constant-time comparison of two proofs.
bool same_proof(const std::string& a, const std::string& b);

}  // namespace sg
