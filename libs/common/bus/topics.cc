#include "bus/topics.h"

#include "runtime/names.h"

#include <string>

namespace emwin::bus {

std::string_view topicFamily(std::string_view topic) noexcept {
  const auto dot = topic.find('.');
  return dot == std::string_view::npos ? topic : topic.substr(0, dot + 1);
}

bool topicMatches(std::string_view topic, const std::vector<std::string>& prefixes) noexcept {
  if (prefixes.empty()) return true;
  for (const auto& prefix : prefixes) {
    if (topic.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

namespace topics {

std::string segment(std::string_view filename) {
  std::string topic = "seg.";
  topic += runtime::extensionToken(filename);
  topic += '.';
  topic += filename;
  return topic;
}

std::string file(std::string_view filename) {
  std::string topic = "file.";
  topic += runtime::extensionToken(filename);
  topic += '.';
  topic += filename;
  return topic;
}

std::string alert(std::string_view phenomenon, std::string_view significance, std::string_view office) {
  std::string topic = "alert.";
  topic += phenomenon;
  topic += '.';
  topic += significance;
  topic += '.';
  topic += office;
  return topic;
}

std::string testAlert(std::string_view phenomenon, std::string_view significance, std::string_view office) {
  std::string topic = "test.";
  topic += alert(phenomenon, significance, office);
  return topic;
}

std::string stats(std::string_view service, std::string_view instance) {
  std::string topic = "stats.";
  topic += service;
  topic += '.';
  topic += instance;
  return topic;
}

std::string serverList(std::string_view instance) {
  std::string topic = "serverlist.";
  topic += instance;
  return topic;
}

}  // namespace topics
}  // namespace emwin::bus
