#pragma once
// The one thread that touches the journal once sgd runs (a detached actor): it appends batches,
// one fdatasync each, and rewrites the file for compaction, so the registry actor's mailbox never
// waits on the disk. Requests are answered in order with "" or the storage error.
#include "cluster/registry_store.hpp"

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace sg {

using jappend_atom = caf::atom_constant<caf::atom("jappend")>;    // (payloads) -> error text
using jrewrite_atom = caf::atom_constant<caf::atom("jrewrite")>;  // (payloads) -> error text
using jfile_atom = caf::atom_constant<caf::atom("jfile")>;        // (path, content) -> error text

// The store outlives the actor (shared); only the journal file is touched from this thread.
caf::behavior journal_writer(caf::event_based_actor* self, std::shared_ptr<registry_store> store);

}  // namespace sg
