#pragma once
// The one actor a controller publishes to its peers. It admits a peer only after a
// challenge-response on the shared cluster secret, then passes that peer's replication messages to
// the registry. Admin messages are not reachable from the network at all.
#include <caf/actor.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <set>
#include <string>

namespace sg {

struct cluster_gate_state {
  std::string my_id;
  std::string secret;
  caf::actor registry;
  std::map<caf::node_id, std::string> nonces;
  std::set<caf::node_id> admitted;
  static inline const char* name = "sg.cluster_gate";
};

caf::behavior cluster_gate(caf::stateful_actor<cluster_gate_state>* self, std::string my_id,
                           std::string secret, caf::actor registry);

}  // namespace sg
