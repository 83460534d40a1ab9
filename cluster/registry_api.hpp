#pragma once
// The registry's request interface as a type: every request the admin edge (or any caller outside
// the registry) may send it, and what each one answers (a value, or an sg_errc error). Callers
// hold a registry_api handle, so a request or reply that does not match fails to compile.
#include "actors/messages.hpp"
#include "actors/specs.hpp"
#include "actors/views.hpp"
#include "cluster/cluster_protocol.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sg {

struct controller_info {
  std::string controller_id;
  bool draining = false;
  int32_t groups = 0;
  int32_t nodes = 0;
  uint64_t journal_bytes = 0;
};

struct group_put_reply {
  group_view view;
  bool created = false;
  int32_t replicas = 1;
};

// Writes carry the fields a request set as json::gf_* / json::nf_* bits (the others keep their
// value); int32_t answers are the replica count of a delete.
using registry_api = caf::typed_actor<
    caf::replies_to<grp_list_atom>::with<std::vector<group_summary>>,
    caf::replies_to<grp_get_atom, std::string>::with<group_view>,
    caf::replies_to<grp_put_atom, std::string, group_spec, uint32_t>::with<group_put_reply>,
    caf::replies_to<grp_del_atom, std::string, bool>::with<int32_t>,
    caf::replies_to<node_put_atom, std::string, node_spec, uint32_t>::with<register_result>,
    caf::replies_to<node_list_atom, std::string>::with<std::vector<node_view>>,
    caf::replies_to<node_get_atom, std::string, std::string>::with<node_view>,
    caf::replies_to<node_patch_atom, std::string, std::string, node_spec,
                    uint32_t>::with<register_result>,
    caf::replies_to<node_admin_atom, std::string, std::string, admin_state>::with<register_result>,
    caf::replies_to<node_del_atom, std::string, std::string>::with<int32_t>,
    caf::replies_to<cl_info_atom>::with<cluster_info>,
    caf::replies_to<ctl_info_atom>::with<controller_info>,
    caf::replies_to<ctl_drain_atom, bool>::with<controller_info>>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, controller_info& x) {
  return f(caf::meta::type_name("controller_info"), x.controller_id, x.draining, x.groups, x.nodes,
           x.journal_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_put_reply& x) {
  return f(caf::meta::type_name("group_put_reply"), x.view, x.created, x.replicas);
}

}  // namespace sg
