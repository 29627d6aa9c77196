#include "bus/consumer_options.h"

#include <filesystem>
#include <system_error>

namespace emwin::bus {

SubscriberOptions pipelineConsumerOptions(std::string endpoint, std::string group, std::string replica,
                                          std::vector<std::string> prefixes, std::uint32_t credit,
                                          const std::string& state_dir) {
  SubscriberOptions so;
  so.mode = Mode::kPipeline;
  so.endpoints = {std::move(endpoint)};
  so.topic_prefixes = std::move(prefixes);
  so.group = std::move(group);
  so.replica = std::move(replica);
  so.credit_window = credit;
  if (!state_dir.empty()) {
    std::error_code ec;  // a directory that cannot be made shows up when the state is written
    std::filesystem::create_directories(state_dir, ec);
    so.state_file = (std::filesystem::path(state_dir) / "pipeline.state").string();
  }
  return so;
}

}  // namespace emwin::bus
