#pragma once
// ActiveAlerts: the gateway's view of what is in effect — the active-state
// library of the alerts issue (alerts::ActiveState) fed with every live Alert
// from the classifier's tap, queried for GET /alerts/active (with the
// gateway's filters) and GET /alerts/<key>, and saved to / restored from a
// snapshot file so a restarted gateway does not start blank. Test messages
// never enter it (the library ignores them).
//
// Thread-safety: not thread-safe; the gateway's reactor thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "alerts/active_state.h"
#include "emwin/bus/v1/alert.pb.h"
#include "event.h"
#include "filter.h"

namespace emwin::archive {
class Reader;
}  // namespace emwin::archive

namespace emwin::gateway {

class ActiveAlerts {
 public:
  explicit ActiveAlerts(alerts::ActiveStateOptions options = {});

  // Applies one Alert from the bus; returns its event key ("" when the
  // library ignored it: a test, a routine product, an invalid one).
  std::string apply(const emwin::bus::v1::Alert& alert);

  // The feed's time: the latest product issue time seen (0 before any).
  std::int64_t feedTime() const { return state_.latestIssued(); }

  // Events in effect at `at` (and pending ones with `pending`) that pass
  // `filter`, as the JSON array of /alerts/active. `file_url(name)` gives
  // the download URL of a product file, or "" when it is not held.
  Json query(const Filter& filter, std::int64_t at, bool pending,
             const std::function<std::string(const std::string&)>& file_url) const;

  // How many events are in effect at `at`.
  std::size_t inEffect(std::int64_t at) const { return state_.all(at).size(); }

  // One event with its history (GET /alerts/<key>); nullopt when unknown.
  std::optional<Json> event(const std::string& key, std::int64_t at) const;

  // Saves the state to `path` (temp file + rename). False and `error` on failure.
  bool save(const std::string& path, std::string& error) const;
  // Restores the state from `path`. False and `error` when it is unreadable or invalid.
  bool load(const std::string& path, std::string& error);

  // Replaces the state with an emwin-archive's (what the archive holds in
  // memory). False and `error` when the archive cannot be read; the state is
  // then unchanged.
  bool loadArchive(archive::Reader& reader, std::string& error);

  alerts::ActiveStateStats stats() const { return state_.stats(); }
  // Updates applied, by what the library did with them.
  std::uint64_t applied() const noexcept { return applied_; }
  std::uint64_t ignored() const noexcept { return ignored_; }

 private:
  alerts::ActiveState state_;
  std::uint64_t applied_ = 0;
  std::uint64_t ignored_ = 0;
};

// Filter facts of an active event (what /alerts/active filters on).
EventFacts activeFacts(const alerts::ActiveEvent& event);

// JSON of a UGC code with its reference name and centroid:
// {"code","name","kind","state","lat","lon"} (name/lat/lon null when unknown).
Json areaJson(const std::string& code);

}  // namespace emwin::gateway
