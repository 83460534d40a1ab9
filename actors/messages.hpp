#pragma once
// Atoms of the messages between the admin edge, the registry, group actors and node actors, and
// the registration of every message type with the actor system. Atoms are <= 10 chars (CAF 0.17).
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace sg {

// admin edge -> registry (requests; each is answered or fails with an sg_errc error)
using grp_list_atom = caf::atom_constant<caf::atom("grplist")>;
using grp_get_atom = caf::atom_constant<caf::atom("grpget")>;
using grp_put_atom = caf::atom_constant<caf::atom("grpput")>;
using grp_del_atom = caf::atom_constant<caf::atom("grpdel")>;
using node_put_atom = caf::atom_constant<caf::atom("nodeput")>;
using node_get_atom = caf::atom_constant<caf::atom("nodeget")>;
using node_list_atom = caf::atom_constant<caf::atom("nodelist")>;
using node_patch_atom = caf::atom_constant<caf::atom("nodepatch")>;
using node_del_atom = caf::atom_constant<caf::atom("nodedel")>;
using node_admin_atom = caf::atom_constant<caf::atom("nodeadmin")>;
using ctl_info_atom = caf::atom_constant<caf::atom("ctlinfo")>;
using ctl_drain_atom = caf::atom_constant<caf::atom("ctldrain")>;

// registry -> group actor, group actor -> node actor
using spec_atom = caf::atom_constant<caf::atom("spec")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;  // group actor: coalesced publish

// node actor internals and reports
using probed_atom = caf::atom_constant<caf::atom("probed")>;
using passive_atom = caf::atom_constant<caf::atom("passive")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using counts_atom = caf::atom_constant<caf::atom("counts")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;
// node -> group -> registry: unhealthy longer than deregisterAfterMs, remove it if unchanged
using reap_atom = caf::atom_constant<caf::atom("nodereap")>;

// events
using event_atom = caf::atom_constant<caf::atom("event")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;

// Registers the value types of actors/ (specs, views, probe results) for messaging.
void add_actor_types(caf::actor_system_config& cfg);

}  // namespace sg
