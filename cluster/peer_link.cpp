#include "cluster/peer_link.hpp"

#include "cluster/cluster_protocol.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <charconv>

namespace sg {

namespace {

using namespace std::chrono_literals;
using self_ptr = caf::stateful_actor<peer_link_state>*;

void retry(self_ptr self) {
  auto& st = self->state;
  st.trying = false;
  self->delayed_send(self, std::chrono::milliseconds(st.backoff_ms), connect_try_atom::value);
  st.backoff_ms = std::min(st.backoff_ms * 2, 5000);
}

void admitted(self_ptr self, caf::actor gate, const std::string& remote_id) {
  auto& s = self->state;
  s.gate = gate;
  s.trying = false;
  s.backoff_ms = 200;
  self->monitor(gate);
  log::info("peer connected", {{"peer", s.address}, {"controller", remote_id}});
  self->send(s.registry, peer_up_atom::value, s.address, remote_id, gate);
}

// Challenge-response both ways: the peer proves the secret on our nonce before we prove it on
// theirs; either side refuses a peer that cannot.
void authenticate(self_ptr self, caf::actor gate) {
  auto challenge = random_nonce();
  self->request(gate, 2s, hello_atom::value, self->state.my_id, challenge, cluster_protocol_version)
      .then(
          [=](const std::string& nonce, const std::string& remote_id, const std::string& proof) {
            auto& s = self->state;
            if (!same_proof(proof, cluster_proof(s.secret, challenge, remote_id, s.my_id))) {
              log::warn("peer refused: it does not prove the cluster secret",
                        {{"peer", s.address}, {"controller", remote_id}});
              return retry(self);
            }
            self->request(gate, 2s, auth_atom::value, s.my_id,
                          cluster_proof(s.secret, nonce, s.my_id, remote_id))
                .then([=](const std::string&) { admitted(self, gate, remote_id); },
                      [=](caf::error& e) {
                        log::warn("peer refused us",
                                  {{"peer", self->state.address}, {"error", caf::to_string(e)}});
                        retry(self);
                      });
          },
          [=](caf::error& e) {
            // A timeout here means the peer is up but ignored our hello: an sgd older than
            // protocol 2 drops it. Its own handshake with us then names the versions.
            log::warn("peer handshake failed",
                      {{"peer", self->state.address}, {"error", caf::to_string(e)}});
            retry(self);
          });
}

}  // namespace

caf::behavior peer_link(caf::stateful_actor<peer_link_state>* self, std::string address,
                        std::string my_id, std::string secret, caf::actor registry) {
  auto& st = self->state;
  st.address = address;
  auto colon = address.rfind(':');
  st.host = address.substr(0, colon);
  unsigned port = 0;
  std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  st.port = static_cast<uint16_t>(port);
  st.my_id = std::move(my_id);
  st.secret = std::move(secret);
  st.registry = std::move(registry);
  self->set_default_handler(caf::drop);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source != s.gate.address()) return;
    log::warn("peer lost", {{"peer", s.address}, {"reason", caf::to_string(dm.reason)}});
    s.gate = caf::actor{};
    self->send(s.registry, peer_down_atom::value, s.address);
    retry(self);
  });
  self->send(st.registry, link_atom::value, st.address, caf::actor_cast<caf::actor>(self));
  self->send(self, connect_try_atom::value);
  return {
      [=](kick_atom) {
        auto& s = self->state;
        if (s.gate || s.trying) return;
        s.backoff_ms = 200;
        self->send(self, connect_try_atom::value);
      },
      [=](connect_try_atom) {
        auto& s = self->state;
        if (s.gate || s.trying) return;
        s.trying = true;
        auto mm = self->system().middleman().actor_handle();
        self->request(mm, 2s, caf::connect_atom::value, s.host, s.port)
            .then(
                [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                  if (!ptr) return retry(self);
                  authenticate(self, caf::actor_cast<caf::actor>(ptr));
                },
                [=](caf::error&) { retry(self); });
      },
  };
}

}  // namespace sg
