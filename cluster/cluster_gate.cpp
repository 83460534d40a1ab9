#include "cluster/cluster_gate.hpp"

#include "actors/errors.hpp"
#include "cluster/cluster_protocol.hpp"
#include "cluster/hlc.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

namespace sg {

namespace {

caf::node_id sender_node(caf::stateful_actor<cluster_gate_state>* self) {
  auto& s = self->current_sender();
  return s ? s->node() : caf::node_id{};
}

bool admitted(caf::stateful_actor<cluster_gate_state>* self) {
  auto n = sender_node(self);
  return n && self->state.admitted.count(n) > 0;
}

caf::error refused() {
  return make_error(sg_errc::unavailable, "not admitted: authenticate with the cluster secret");
}

// Records in another binary form would not decode (or worse, decode wrong): refused, loudly.
caf::error wrong_version(const std::string& from, uint32_t version) {
  auto msg = "peer speaks cluster protocol " + std::to_string(version) + ", this controller " +
             std::to_string(cluster_protocol_version) +
             ": run the same sgd version on every controller";
  log::warn("peer refused: cluster protocol version differs", {{"peer", from}, {"error", msg}});
  return make_error(sg_errc::unavailable, msg);
}

}  // namespace

caf::behavior cluster_gate(caf::stateful_actor<cluster_gate_state>* self, std::string my_id,
                           std::string secret, caf::actor registry) {
  self->state.my_id = std::move(my_id);
  self->state.secret = std::move(secret);
  self->state.registry = std::move(registry);
  self->set_default_handler(caf::drop);
  return {
      // Mutual: we answer the peer's challenge (proving we hold the secret too, so a controller
      // never replicates into an impostor) and hand it ours.
      // A controller of version 1 says hello without a protocol version.
      [=](hello_atom, const std::string& from, const std::string&)
          -> caf::result<std::string, std::string, std::string> { return wrong_version(from, 1); },
      [=](hello_atom, const std::string& from, const std::string& challenge,
          uint32_t version) -> caf::result<std::string, std::string, std::string> {
        auto n = sender_node(self);
        if (!n) return refused();
        if (version != cluster_protocol_version) return wrong_version(from, version);
        // A peer that says hello again without ever answering our challenge dropped the
        // handshake after checking our proof: it holds a different secret.
        if (self->state.nonces.count(n))
          log::warn("peer refused: handshake abandoned, it holds a different cluster secret",
                    {{"peer", from}, {"node", caf::to_string(n)}});
        auto nonce = random_nonce();
        self->state.nonces[n] = nonce;
        auto& me = self->state.my_id;
        return {nonce, me, cluster_proof(self->state.secret, challenge, me, from)};
      },
      [=](auth_atom, const std::string& from,
          const std::string& proof) -> caf::result<std::string> {
        auto n = sender_node(self);
        auto i = self->state.nonces.find(n);
        if (!n || i == self->state.nonces.end()) return refused();
        auto expected = cluster_proof(self->state.secret, i->second, from, self->state.my_id);
        self->state.nonces.erase(i);
        if (!same_proof(proof, expected)) {
          log::warn("peer refused: wrong cluster secret",
                    {{"peer", from}, {"node", caf::to_string(n)}});
          return make_error(sg_errc::unavailable, "wrong cluster secret");
        }
        self->state.admitted.insert(n);
        log::info("peer admitted", {{"peer", from}});
        self->send(self->state.registry, peer_seen_atom::value, from);
        return self->state.my_id;
      },
      [=](repl_atom, std::string& from, std::vector<group_record>& groups,
          std::vector<node_record>& nodes) {
        // Check before make_response_promise(): it takes the sender out of the current message.
        bool ok = admitted(self);
        auto rp = self->make_response_promise();
        if (!ok) return rp.deliver(refused()), void();
        rp.delegate(self->state.registry, repl_atom::value, std::move(from), std::move(groups),
                    std::move(nodes));
      },
      // Answered here, not by the registry: a busy registry mailbox would skew the sample.
      [=](clock_atom, const std::string&) -> caf::result<uint64_t> {
        if (!admitted(self)) return refused();
        return hlc_clock::wall_ms();
      },
      [=](digest_atom, digest_msg& d) {
        bool ok = admitted(self);
        auto rp = self->make_response_promise();
        if (!ok) return rp.deliver(refused()), void();
        rp.delegate(self->state.registry, digest_atom::value, std::move(d));
      },
  };
}

}  // namespace sg
