#pragma once
// MetricsText: builds the Prometheus text exposition format (version 0.0.4)
// for a /metrics endpoint — `# HELP` and `# TYPE` once per metric family,
// then one sample line per label set, label values escaped. Any service that
// serves its own metrics uses it (emwin-gateway; relay and archive).
//
//   http::MetricsText m("emwin_gateway_");
//   m.counter("clients_closed_total", "streams closed, by reason", 3, {{"reason", "queue_full"}});
//   m.gauge("clients", "open streams", 12);
//   res.body = m.take();  res.content_type = http::kPrometheusContentType;
//
// Thread-safety: a plain value; not shared between threads.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emwin::http {

// Content-Type of the Prometheus text format.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Label name/value pairs of one sample.
using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

class MetricsText {
 public:
  // Every metric name gets `prefix` in front (e.g. "emwin_gateway_").
  explicit MetricsText(std::string prefix = {});

  // A counter sample (name should end in _total).
  void counter(std::string_view name, std::string_view help, double value, const MetricLabels& labels = {});
  // A gauge sample.
  void gauge(std::string_view name, std::string_view help, double value, const MetricLabels& labels = {});

  // The text so far.
  const std::string& text() const noexcept { return text_; }
  // Moves the text out (the builder is empty afterwards).
  std::string take();

 private:
  void sample(std::string_view type, std::string_view name, std::string_view help, double value,
              const MetricLabels& labels);

  std::string prefix_;
  std::string text_;
  std::set<std::string, std::less<>> described_;  // families whose HELP/TYPE were written
};

// Escapes a label value (backslash, double quote, line feed).
std::string escapeLabelValue(std::string_view value);

}  // namespace emwin::http
