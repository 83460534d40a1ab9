#pragma once
// One per configured peer: connects to the peer's published gate through CAF's middleman (never
// blocking an actor thread), proves the cluster secret, tells the registry the peer is up, and
// reconnects with backoff (200 ms doubling to 5 s) whenever the peer goes away, or at once when
// the registry says the peer showed up at our gate (kick).
#include <caf/actor.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <string>

namespace sg {

struct peer_link_state {
  std::string address, host;
  uint16_t port = 0;
  std::string my_id, secret;
  caf::actor registry;
  caf::actor gate;
  int backoff_ms = 200;
  bool trying = false;  // a connect or handshake is under way
  static inline const char* name = "sg.peer_link";
};

caf::behavior peer_link(caf::stateful_actor<peer_link_state>* self, std::string address,
                        std::string my_id, std::string secret, caf::actor registry);

}  // namespace sg
