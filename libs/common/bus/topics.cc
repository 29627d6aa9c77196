#include "bus/topics.h"

#include <string>

namespace emwin::bus::topics {

std::string extensionToken(std::string_view filename) {
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= filename.size()) return "NONE";
  std::string token;
  token.reserve(filename.size() - dot - 1);
  for (char c : filename.substr(dot + 1)) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    token.push_back(ok ? c : '_');
  }
  return token;
}

std::string segment(std::string_view filename) {
  std::string topic = "seg.";
  topic += extensionToken(filename);
  topic += '.';
  topic += filename;
  return topic;
}

std::string file(std::string_view filename) {
  std::string topic = "file.";
  topic += extensionToken(filename);
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

}  // namespace emwin::bus::topics
