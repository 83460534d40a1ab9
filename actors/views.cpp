#include "actors/views.hpp"

namespace sg {

void status_counts::add(node_status s, int32_t n) {
  switch (s) {
    case node_status::healthy:
      healthy += n;
      break;
    case node_status::degraded:
      degraded += n;
      break;
    case node_status::unhealthy:
      unhealthy += n;
      break;
    case node_status::draining:
      draining += n;
      break;
  }
}

}  // namespace sg
