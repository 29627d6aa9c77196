#pragma once
// GroupStore: the consumer groups a pipeline publisher knows, kept in its
// state directory (file "pipeline-groups", one line per group: its name and
// topic prefixes, tab-separated, replaced atomically). A restarted producer
// reloads them and holds messages for each group from its first publish, so
// files published before a group's replicas re-join are not lost. Internal to
// emwin::bus. Thread-safety: not thread-safe (the publisher's thread).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace emwin::bus::detail {

// True for a usable group name: 1..64 characters of [A-Za-z0-9._-].
bool validGroupName(const std::string& name) noexcept;

class GroupStore {
 public:
  // `dir` empty = nothing is persisted.
  GroupStore(std::string dir, std::shared_ptr<spdlog::logger> log);

  // Groups stored by a previous run (name -> prefixes); unreadable lines are skipped and logged.
  std::map<std::string, std::vector<std::string>> load() const;
  // Replaces the stored set. False (and a warning) when it cannot be written.
  bool save(const std::map<std::string, std::vector<std::string>>& groups) const;

  bool enabled() const noexcept { return !path_.empty(); }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace emwin::bus::detail
