#pragma once
// Helper shared by the services that consume a producer's pipeline: builds
// the SubscriberOptions of one replica of a consumer group, with its replay
// position persisted under a state directory. Thread-safe (pure, plus a
// directory creation).

#include <cstdint>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace emwin::bus {

// Options of replica `replica` of consumer group `group` on the pipeline
// endpoint `endpoint`, taking topics that start with one of `prefixes`, with
// `credit` messages in flight. With a non-empty `state_dir` (created if
// missing) the replay position is kept in <state_dir>/pipeline.state, so a
// restarted replica recovers what it missed.
SubscriberOptions pipelineConsumerOptions(std::string endpoint, std::string group, std::string replica,
                                          std::vector<std::string> prefixes, std::uint32_t credit,
                                          const std::string& state_dir);

}  // namespace emwin::bus
