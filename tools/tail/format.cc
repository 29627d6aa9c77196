#include "format.h"

#include <ctime>
#include <memory>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/server_list.pb.h"
#include "emwin/bus/v1/stats.pb.h"

namespace emwin::tail {
namespace {

namespace pb = google::protobuf;

std::string isoTime(std::int64_t unix_us) {
  const std::time_t seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, (unix_us / 1000) % 1000);
}

// Parses the payload as its declared type; nullptr for unknown types or bad bytes.
std::unique_ptr<pb::Message> decode(const emwin::bus::Received& m) {
  // Make sure the generated types are linked in and registered.
  static const pb::Descriptor* const kKnown[] = {
      emwin::bus::v1::Segment::descriptor(), emwin::bus::v1::CompletedFile::descriptor(),
      emwin::bus::v1::Alert::descriptor(), emwin::bus::v1::ServiceStats::descriptor(),
      emwin::bus::v1::StatsSummary::descriptor(), emwin::bus::v1::ServerList::descriptor()};
  (void)kKnown;
  const auto* descriptor = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(m.header.payload_type());
  if (descriptor == nullptr) return nullptr;
  const auto* prototype = pb::MessageFactory::generated_factory()->GetPrototype(descriptor);
  if (prototype == nullptr) return nullptr;
  std::unique_ptr<pb::Message> message(prototype->New());
  if (!message->ParseFromString(m.payload)) return nullptr;
  return message;
}

std::string summary(const emwin::bus::Received& m) {
  const std::string& type = m.header.payload_type();
  if (type == "emwin.bus.v1.Segment") {
    emwin::bus::v1::Segment s;
    if (s.ParseFromString(m.payload)) return fmt::format("Segment {} {}/{}", s.filename(), s.block_number(), s.total_blocks());
  } else if (type == "emwin.bus.v1.CompletedFile") {
    emwin::bus::v1::CompletedFile f;
    if (f.ParseFromString(m.payload)) {
      return fmt::format("File {} {} B sha256 {}", f.filename(), f.size_bytes(), f.sha256().substr(0, 16));
    }
  } else if (type == "emwin.bus.v1.Alert") {
    emwin::bus::v1::Alert a;
    if (a.ParseFromString(m.payload)) {
      return fmt::format("Alert {} {} {}", a.event_name().empty() ? a.product_name() : a.event_name(), a.office(),
                         a.action());
    }
  } else if (type == "emwin.bus.v1.ServiceStats") {
    emwin::bus::v1::ServiceStats st;
    if (st.ParseFromString(m.payload)) {
      std::string out = fmt::format("Stats {}.{} up {:.0f}s", st.service(), st.instance(), st.uptime_s());
      int shown = 0;
      std::map<std::string, std::uint64_t> sorted(st.counters().begin(), st.counters().end());
      for (const auto& [name, value] : sorted) {
        if (shown++ == 4) {
          out += " ...";
          break;
        }
        out += fmt::format(" {}={}", name, value);
      }
      return out;
    }
  } else if (type == "emwin.bus.v1.ServerList") {
    emwin::bus::v1::ServerList l;
    if (l.ParseFromString(m.payload)) {
      return fmt::format("ServerList {} regular, {} satellite", l.regular_size(), l.satellite_size());
    }
  }
  return fmt::format("{} ({} bytes)", type.empty() ? "unknown" : type, m.payload.size());
}

// Replaces every bytes field (at any depth) by nothing; returns name -> length of the top level.
void stripBytes(pb::Message& message, nlohmann::json& lengths) {
  const auto* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->type() == pb::FieldDescriptor::TYPE_BYTES && !field->is_repeated()) {
      lengths[std::string(field->name()) + "_bytes"] = reflection->GetString(message, field).size();
      reflection->ClearField(&message, field);
    } else if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE && !field->is_repeated() && !field->is_map()) {
      nlohmann::json ignored;
      stripBytes(*reflection->MutableMessage(&message, field), ignored);
    }
  }
}

}  // namespace

std::string humanLine(const emwin::bus::Received& m) {
  return fmt::format("{} {} {}#{}{} {}", isoTime(m.header.produced_unix_us()), m.topic, m.header.producer_id(),
                     m.header.sequence(), m.replayed ? " (replayed)" : "", summary(m));
}

std::string jsonLine(const emwin::bus::Received& m) {
  nlohmann::json out;
  out["topic"] = m.topic;
  if (m.replayed) out["replayed"] = true;
  auto message = decode(m);
  std::string body;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (message) {
    nlohmann::json lengths = nlohmann::json::object();
    stripBytes(*message, lengths);
    if (pb::util::MessageToJsonString(*message, &body, options).ok()) {
      out["message"] = nlohmann::json::parse(body, nullptr, false);
      for (auto& [key, value] : lengths.items()) out["message"][key] = value;
      return out.dump();
    }
  }
  body.clear();
  if (pb::util::MessageToJsonString(m.header, &body, options).ok()) {
    out["header"] = nlohmann::json::parse(body, nullptr, false);
  }
  out["payload_bytes"] = m.payload.size();
  return out.dump();
}

}  // namespace emwin::tail
