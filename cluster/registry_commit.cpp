// Group commit: writes that arrive while a journal write is in flight form the next batch, so
// N concurrent writers cost one fdatasync and one replication round, not N; the registry actor
// hands the batch to the journal writer and goes on with its mailbox. The batch goes to the peers
// at the same time as to the local disk: a write is answered once both are done, so its latency
// is the slower of the two, not their sum.
#include "actors/errors.hpp"
#include "actors/group_actor.hpp"
#include "actors/messages.hpp"
#include "actors/timeouts.hpp"
#include "cluster/journal_writer.hpp"
#include "cluster/registry_internal.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

#include <optional>
#include <set>

namespace sg::registry {

namespace {

void flush(self_ptr self);

std::vector<node_spec> node_specs_of(self_ptr self, const std::string& group) {
  std::vector<node_spec> out;
  for (auto* n : store_of(self).state().nodes_of(group)) out.push_back(n->spec);
  return out;
}

// A journal write came back: apply or drop each job's records, answer (a local write's answer
// also waits for its replication round, started by flush), then start the next batch.
void finish(self_ptr self, std::vector<commit_job> jobs, const std::string& err) {
  auto& st = self->state;
  st.journal_busy = false;
  if (!err.empty()) log::error("registry write failed", {{"error", err}});
  auto failure = make_error(sg_errc::storage_failed, "write not stored: " + err);
  std::vector<any_record> changed;
  for (auto& job : jobs) {
    store_of(self).complete(job.batch, err.empty());
    // A local write's handler tells the group actor itself (its answer waits for the group's).
    if (err.empty() && !job.local)
      changed.insert(changed.end(), job.batch.records.begin(), job.batch.records.end());
  }
  if (err.empty()) apply_merged(self, changed);
  for (auto& job : jobs) job.durable(err.empty() ? caf::error{} : failure);
  if (err.empty() && !st.compacting && store_of(self).compaction_due()) {
    st.compacting = true;
    rewrite_journal(self, [self](const std::string&) { self->state.compacting = false; });
  }
  flush(self);
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (st.journal_busy || st.next.empty()) return;
  st.journal_busy = true;
  auto jobs = std::make_shared<std::vector<commit_job>>(std::move(st.next));
  st.next.clear();
  std::vector<std::string> payloads;
  for (auto& j : *jobs)
    payloads.insert(payloads.end(), std::make_move_iterator(j.batch.payloads.begin()),
                    std::make_move_iterator(j.batch.payloads.end()));
  if (payloads.empty()) return finish(self, std::move(*jobs), {});  // a rewrite's turn
  // The local writes go to the peers now. Should the local disk then fail, the write is answered
  // as not stored although peers may hold it: its outcome is unknown, as after a timeout, and
  // anti-entropy brings it back here (docs/replication.md).
  std::vector<any_record> local;
  std::vector<std::function<void(int32_t)>> waiting;
  for (auto& j : *jobs) {
    if (!j.local) continue;
    local.insert(local.end(), j.batch.records.begin(), j.batch.records.end());
    if (j.replicated) waiting.push_back(std::move(j.replicated));
  }
  if (!local.empty())
    replicate(self, local, [waiting = std::move(waiting)](int32_t n) {
      for (auto& w : waiting) w(n);
    });
  st.args.stats->journal_batches.fetch_add(1, std::memory_order_relaxed);
  st.args.stats->journal_writes.fetch_add(jobs->size(), std::memory_order_relaxed);
  self->request(st.journal, timeouts::journal_write, jappend_atom::value, std::move(payloads))
      .then([=](const std::string& err) { finish(self, std::move(*jobs), err); },
            [=](caf::error& e) { finish(self, std::move(*jobs), caf::to_string(e)); });
}

void submit(self_ptr self, commit_job job) {
  self->state.next.push_back(std::move(job));
  flush(self);
}

}  // namespace

int64_t now_ms() {
  return static_cast<int64_t>(hlc_clock::wall_ms());
}

void write(self_ptr self, std::vector<any_record> batch,
           std::function<void(const caf::error&)> durable,
           std::function<void(int32_t)> replicated) {
  if (auto err = clock_refusal(self)) return durable(err);
  // The disk and the peers answer in either order; the caller hears "durable" first, then the
  // count, and no count for a write that did not reach the disk.
  struct join {
    std::function<void(const caf::error&)> durable;
    std::function<void(int32_t)> replicated;
    bool stored = false, failed = false;
    std::optional<int32_t> replicas;
  };
  auto j = std::make_shared<join>();
  j->durable = std::move(durable);
  j->replicated = std::move(replicated);
  commit_job job;
  job.batch = store_of(self).stage_local(std::move(batch));
  job.durable = [j](const caf::error& err) {
    (err ? j->failed : j->stored) = true;
    j->durable(err);
    if (j->stored && j->replicas && j->replicated) j->replicated(*j->replicas);
  };
  job.replicated = [j](int32_t n) {
    j->replicas = n;
    if (j->stored && j->replicated) j->replicated(n);
  };
  submit(self, std::move(job));
}

void merge_from_peer(self_ptr self, const std::vector<group_record>& groups,
                     const std::vector<node_record>& nodes,
                     std::function<void(caf::expected<uint64_t>)> done) {
  commit_job job;
  job.local = false;
  job.batch = store_of(self).stage_remote(groups, nodes);
  auto won = static_cast<uint64_t>(job.batch.records.size());
  if (won == 0) return done(uint64_t{0});
  job.durable = [done = std::move(done), won](const caf::error& err) {
    if (err)
      done(err);
    else
      done(won);
  };
  submit(self, std::move(job));
}

void rewrite_journal(self_ptr self, std::function<void(const std::string&)> done) {
  // Behind the batches already queued: a zero-record job whose completion starts the rewrite.
  commit_job job;
  job.local = false;
  job.durable = [self, done = std::move(done)](const caf::error&) {
    auto& st = self->state;
    // Runs inside finish(), before it flushes the next batch: take the journal now.
    st.journal_busy = true;
    auto& store = store_of(self);
    auto before = store.journal_bytes();
    auto rewritten = [=](const std::string& err) {
      store_of(self).compacted(err, before);
      self->state.journal_busy = false;
      done(err);
      flush(self);
    };
    self->request(st.journal, timeouts::journal_write, jrewrite_atom::value,
                  store.compaction_payloads())
        .then(rewritten, [=](caf::error& e) { rewritten(caf::to_string(e)); });
  };
  submit(self, std::move(job));
}

caf::actor ensure_group_actor(self_ptr self, const group_spec& spec, bool* spawned) {
  auto& st = self->state;
  auto i = st.groups.find(spec.name);
  if (spawned) *spawned = i == st.groups.end();
  if (i != st.groups.end()) return i->second;
  auto g =
      self->spawn(group_actor, group_actor_args{spec, st.args.table, st.args.probes,
                                                caf::actor_cast<caf::actor>(self), st.args.events});
  st.groups.emplace(spec.name, g);
  // Records may exist before their group does (a registration replicated ahead of it, or nodes
  // left live under a group deleted concurrently and now recreated): tell it all of them.
  if (auto nodes = node_specs_of(self, spec.name); !nodes.empty())
    self->send(g, spec_atom::value, std::move(nodes));
  return g;
}

void stop_group_actor(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (auto i = st.groups.find(name); i != st.groups.end()) {
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.groups.erase(i);
  }
  st.counts.erase(name);
}

void apply_merged(self_ptr self, const std::vector<any_record>& changed) {
  // Only what changed is sent (a delta of one node costs one message, not the group's list).
  auto& s = store_of(self).state();
  std::set<std::string> fresh;  // spawned here: they already got every node
  for (auto& r : changed) {
    auto* g = std::get_if<group_record>(&r);
    if (!g) continue;
    auto* live = s.group(g->spec.name);
    if (!live) {
      stop_group_actor(self, g->spec.name);
      continue;
    }
    bool spawned = false;
    auto actor = ensure_group_actor(self, live->spec, &spawned);
    if (spawned)
      fresh.insert(g->spec.name);
    else
      self->send(actor, spec_atom::value, live->spec);
  }
  for (auto& r : changed) {
    auto* n = std::get_if<node_record>(&r);
    if (!n || fresh.count(n->spec.group)) continue;
    auto i = self->state.groups.find(n->spec.group);
    if (i == self->state.groups.end()) continue;  // its group is not live here (yet)
    if (auto* now = s.node(n->spec.node_id); now && now->spec.group == n->spec.group)
      self->send(i->second, spec_atom::value, now->spec);
    else
      self->send(i->second, node_del_atom::value, n->spec.node_id);
  }
}

}  // namespace sg::registry
