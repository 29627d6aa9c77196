#include "archive/writer.h"

#include <unordered_set>

#include <fmt/format.h>

#include "alerts/event_update.h"

namespace emwin::archive {
namespace {

WriterOptions withWriterDefaults(WriterOptions o) {
  o.active.auto_prune_every = 0;  // pruned after each commit, once the changed events are stored
  return o;
}

bool changed(alerts::ApplyOutcome o) {
  return o == alerts::ApplyOutcome::kCreated || o == alerts::ApplyOutcome::kUpdated;
}

}  // namespace

Writer::Writer(std::unique_ptr<Database> database, WriterOptions options)
    : db_(std::move(database)), options_(withWriterDefaults(std::move(options))), state_(options_.active) {}

OpenResult Writer::open() {
  OpenResult out;
  db_->connect();
  db_->lockWriter();
  out.schema_version = db_->migrate(out.notes);
  out.spatial = db_->spatial();
  std::int64_t latest = 0;
  if (auto m = db_->meta("latest_issued")) {
    try {
      latest = std::stoll(*m);
    } catch (const std::exception&) {
      out.notes.push_back("warning: meta latest_issued '" + *m + "' is not a number; using 0");
    }
  }
  nlohmann::json events = nlohmann::json::array();
  for (const std::string& text : db_->liveEventStates(latest)) {
    // Each event alone first, so one unreadable row is skipped (and said), not fatal.
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    alerts::ActiveState probe;
    std::string error;
    if (j.is_discarded() || !probe.restore(alerts::makeSnapshot(nlohmann::json::array({j}), latest), error)) {
      out.notes.push_back("warning: skipped an unreadable event row: " + (j.is_discarded() ? "bad JSON" : error));
      continue;
    }
    events.push_back(std::move(j));
  }
  alerts::ActiveState state(options_.active);
  std::string error;
  if (!state.restore(alerts::makeSnapshot(std::move(events), latest), error)) {
    throw DatabaseError(DatabaseError::Kind::kFatal, "cannot restore the active state: " + error);
  }
  state.prune(latest);
  state_ = std::move(state);
  touched_.clear();
  out.events_restored = state_.stats().events;
  out.latest_issued = latest;
  opened_ = true;
  return out;
}

bool Writer::ready() const { return opened_ && db_->connected(); }

void Writer::connectIfNeeded() {
  if (!opened_) {
    open();
    return;
  }
  if (!db_->connected()) {
    db_->connect();
    db_->lockWriter();
  }
}

CommitResult Writer::commit(const Batch& batch, std::int64_t now) {
  connectIfNeeded();
  try {
    CommitResult r = commitOnce(batch, now, true);
    touched_.clear();
    state_.prune(state_.latestIssued());
    return r;
  } catch (const DatabaseError& e) {
    if (e.kind() != DatabaseError::Kind::kData) throw;
  }
  // Some row is refused: store what can be stored, one row per transaction.
  CommitResult total;
  auto add = [&](const CommitResult& r) {
    total.files_new += r.files_new;
    total.files_duplicate += r.files_duplicate;
    total.alerts_new += r.alerts_new;
    total.alerts_duplicate += r.alerts_duplicate;
    total.alerts_test += r.alerts_test;
  };
  for (const FileRecord& f : batch.files) {
    Batch one;
    one.files.push_back(f);
    try {
      add(commitOnce(one, now, false));
    } catch (const DatabaseError& e) {
      if (e.kind() != DatabaseError::Kind::kData) throw;
      total.rejected.push_back(fmt::format("file {} (fd {}, sha256 {}): {}", f.name, f.fd_unix_s, f.sha256, e.what()));
    }
  }
  for (const AlertRecord& a : batch.alerts) {
    Batch one;
    one.alerts.push_back(a);
    try {
      add(commitOnce(one, now, false));
    } catch (const DatabaseError& e) {
      if (e.kind() != DatabaseError::Kind::kData) throw;
      total.rejected.push_back(fmt::format("alert {} ({}): {}", a.source_id, a.topic, e.what()));
    }
  }
  for (const std::string& key : std::set<std::string>(touched_)) {
    std::set<std::string> only = {key};
    try {
      db_->begin();
      writeEvents(now, total, &only);
      db_->commit();
    } catch (const DatabaseError& e) {
      db_->rollback();
      if (e.kind() != DatabaseError::Kind::kData) throw;
      total.rejected.push_back(fmt::format("event {}: {}", key, e.what()));
    }
    touched_.erase(key);
  }
  total.latest_issued = state_.latestIssued();
  state_.prune(state_.latestIssued());
  return total;
}

CommitResult Writer::commitOnce(const Batch& batch, std::int64_t now, bool with_events) {
  CommitResult out;
  db_->begin();
  try {
    if (!batch.files.empty()) {
      std::vector<const FileRecord*> ptrs;
      ptrs.reserve(batch.files.size());
      for (const FileRecord& f : batch.files) ptrs.push_back(&f);
      const std::unordered_set<std::string> known = db_->knownFiles(ptrs);
      std::unordered_set<std::string> seen;
      for (const FileRecord& f : batch.files) {
        const std::string key = fileKey(f);
        if (known.count(key) != 0 || !seen.insert(key).second) {
          ++out.files_duplicate;
          continue;
        }
        db_->insertFile(f);
        ++out.files_new;
      }
    }
    if (!batch.alerts.empty()) {
      std::vector<std::string> ids;
      ids.reserve(batch.alerts.size());
      for (const AlertRecord& a : batch.alerts) ids.push_back(a.source_id);
      const std::unordered_set<std::string> known = db_->knownAlerts(ids);
      std::unordered_set<std::string> seen;
      for (const AlertRecord& a : batch.alerts) {
        if (known.count(a.source_id) != 0 || !seen.insert(a.source_id).second) {
          ++out.alerts_duplicate;
          continue;
        }
        const alerts::ApplyResult r = state_.apply(alerts::updateFromAlert(a.alert));
        if (changed(r.outcome)) {
          touched_.insert(r.key);
          if (auto e = state_.event(r.key)) {
            touched_.insert(e->upgraded_to.begin(), e->upgraded_to.end());
            touched_.insert(e->upgraded_from.begin(), e->upgraded_from.end());
          }
        }
        if (a.alert.is_test() || a.alert.tier() == emwin::bus::v1::PRIORITY_TIER_TEST) ++out.alerts_test;
        db_->insertAlert(a, r.key);
        ++out.alerts_new;
      }
    }
    if (with_events) writeEvents(now, out, nullptr);
    db_->setMeta("latest_issued", std::to_string(state_.latestIssued()));
    db_->commit();
  } catch (...) {
    db_->rollback();
    throw;
  }
  out.latest_issued = state_.latestIssued();
  return out;
}

void Writer::writeEvents(std::int64_t now, CommitResult& out, std::set<std::string>* only) {
  for (const std::string& key : only != nullptr ? *only : touched_) {
    auto e = state_.event(key);
    if (!e) continue;  // pruned before it was stored: its alerts keep its history
    db_->upsertEvent(eventRecord(*e, options_.active), now);
    ++out.events_written;
  }
}

PruneCounts Writer::prune(std::int64_t received_before) {
  connectIfNeeded();
  return db_->deleteOlderThan(received_before, state_.latestIssued());
}

}  // namespace emwin::archive
