#include "http/metrics.h"

#include <cmath>
#include <cstdio>

namespace emwin::http {

MetricsText::MetricsText(std::string prefix) : prefix_(std::move(prefix)) {}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsText::counter(std::string_view name, std::string_view help, double value, const MetricLabels& labels) {
  sample("counter", name, help, value, labels);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value, const MetricLabels& labels) {
  sample("gauge", name, help, value, labels);
}

void MetricsText::sample(std::string_view type, std::string_view name, std::string_view help, double value,
                         const MetricLabels& labels) {
  std::string full = prefix_;
  full += name;
  if (described_.find(full) == described_.end()) {
    text_ += "# HELP " + full + " ";
    for (char c : help) text_ += c == '\n' ? ' ' : c;
    text_ += "\n# TYPE " + full + " ";
    text_ += type;
    text_ += '\n';
    described_.insert(full);
  }
  text_ += full;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += k;
      text_ += "=\"";
      text_ += escapeLabelValue(v);
      text_ += '"';
    }
    text_ += '}';
  }
  char buf[64];
  if (std::isnan(value)) {
    std::snprintf(buf, sizeof buf, " NaN\n");
  } else if (std::isinf(value)) {
    std::snprintf(buf, sizeof buf, value > 0 ? " +Inf\n" : " -Inf\n");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof buf, " %.9g\n", value);
  }
  text_ += buf;
}

std::string MetricsText::take() {
  std::string out = std::move(text_);
  text_.clear();
  described_.clear();
  return out;
}

}  // namespace emwin::http
