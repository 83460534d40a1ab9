#include "actors/views.hpp"

namespace sg {

void status_counts::add(node_status s) {
  switch (s) {
    case node_status::healthy:
      ++healthy;
      break;
    case node_status::degraded:
      ++degraded;
      break;
    case node_status::unhealthy:
      ++unhealthy;
      break;
    case node_status::draining:
      ++draining;
      break;
  }
}

}  // namespace sg
