#pragma once
// Replicated registry records: a spec plus its hybrid-logical-clock stamp and origin controller.
// Deletes are tombstones (deleted = true) so a delete wins over older writes wherever they arrive.
#include "actors/specs.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <tuple>

namespace sg {

struct stamp {
  uint64_t hlc = 0;
  std::string origin;  // controller id that made the write
  friend bool operator==(const stamp&, const stamp&) = default;
};

// Last-writer-wins order: stamp, then origin, then delete-wins. Total, so merge is deterministic.
inline bool newer(const stamp& a, bool a_deleted, const stamp& b, bool b_deleted) {
  return std::tie(a.hlc, a.origin, a_deleted) > std::tie(b.hlc, b.origin, b_deleted);
}

struct group_record {
  group_spec spec;
  stamp st;
  bool deleted = false;
  friend bool operator==(const group_record&, const group_record&) = default;
};

struct node_record {
  node_spec spec;
  stamp st;
  bool deleted = false;
  friend bool operator==(const node_record&, const node_record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stamp& x) {
  return f(caf::meta::type_name("stamp"), x.hlc, x.origin);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_record& x) {
  return f(caf::meta::type_name("group_record"), x.spec, x.st, x.deleted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_record& x) {
  return f(caf::meta::type_name("node_record"), x.spec, x.st, x.deleted);
}

}  // namespace sg
