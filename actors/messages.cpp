#include "actors/messages.hpp"

#include "actors/errors.hpp"
#include "actors/event.hpp"
#include "actors/prober.hpp"
#include "actors/views.hpp"

namespace sg {

void add_actor_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<health_settings>("sg::health_settings");
  cfg.add_message_type<group_spec>("sg::group_spec");
  cfg.add_message_type<node_spec>("sg::node_spec");
  cfg.add_message_type<check_record>("sg::check_record");
  cfg.add_message_type<node_health>("sg::node_health");
  cfg.add_message_type<node_view>("sg::node_view");
  cfg.add_message_type<status_counts>("sg::status_counts");
  cfg.add_message_type<group_view>("sg::group_view");
  cfg.add_message_type<group_summary>("sg::group_summary");
  cfg.add_message_type<register_result>("sg::register_result");
  cfg.add_message_type<probe_result>("sg::probe_result");
  cfg.add_message_type<event>("sg::event");
  cfg.add_error_category(
      sg_error_category(), [](uint8_t code, caf::atom_value, const caf::message& ctx) {
        std::string out = std::string("sgd: ") + to_string(static_cast<sg_errc>(code));
        if (ctx.match_elements<std::string>()) out += " (" + ctx.get_as<std::string>(0) + ")";
        return out;
      });
}

}  // namespace sg
