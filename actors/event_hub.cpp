#include "actors/event_hub.hpp"

#include "actors/messages.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

namespace sg {

caf::behavior event_hub(caf::stateful_actor<event_hub_state>* self, size_t backlog) {
  self->set_default_handler(caf::drop);
  return {
      [=](event_atom, event& e) {
        auto& st = self->state;
        e.seq = ++st.seq;
        auto lv = e.alert == "raised" ? log::level::warn : log::level::info;
        log::write(lv, "event",
                   {{"event", e.type},
                    {"group", e.group},
                    {"node", e.node_id},
                    {"name", e.node_name},
                    {"from", e.from},
                    {"to", e.to},
                    {"alert", e.alert},
                    {"detail", e.detail}});
        st.recent.push_back(e);
        if (st.recent.size() > backlog) st.recent.pop_front();
        for (auto i = st.sinks.begin(); i != st.sinks.end();)
          i = i->second->push(e) ? std::next(i) : st.sinks.erase(i);
      },
      [=](subscribe_atom, event_sink_ptr& sink, uint64_t since) {
        auto& st = self->state;
        for (auto& e : st.recent)
          if (e.seq > since) sink->push(e);
        auto id = ++st.next_sink;
        st.sinks.emplace(id, std::move(sink));
        return id;
      },
      [=](unsubscribe_atom, uint64_t id) { self->state.sinks.erase(id); },
  };
}

}  // namespace sg
