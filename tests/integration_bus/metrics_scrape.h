#pragma once
// Reads a process's Prometheus /metrics (emwin-stats) in integration tests:
// one GET, and the sum of a metric family's samples.
// Thread-safety: free functions without shared state.

#include <httplib.h>

#include <initializer_list>
#include <sstream>
#include <string>

namespace emwin::test {

// Body of GET http://127.0.0.1:<port><path>, or "" when it does not answer.
inline std::string scrape(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto res = client.Get(path.c_str());
  return res ? res->body : std::string();
}

// Sum of every sample of `family` whose line contains every one of `filters`.
inline double metricSumAll(const std::string& text, const std::string& family,
                           std::initializer_list<std::string> filters) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0 && line.rfind(family + " ", 0) != 0) continue;
    bool all = true;
    for (const auto& f : filters) all = all && line.find(f) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Sum of every sample of `family` whose labels contain `label_filter` ("" = all).
inline double metricSum(const std::string& text, const std::string& family, const std::string& label_filter = "") {
  return label_filter.empty() ? metricSumAll(text, family, {}) : metricSumAll(text, family, {label_filter});
}

}  // namespace emwin::test
