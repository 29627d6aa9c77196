#include "mapping/mapping.h"

#include <chrono>
#include <cstring>

namespace emwin::mapping {
namespace v1 = emwin::bus::v1;

namespace {
std::int64_t toUnixUs(assembly::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
}  // namespace

void toMessage(const qbt::Segment& segment, std::string_view source, std::int64_t received_unix_us,
               v1::Segment& out) {
  out.set_filename(segment.filename);
  out.set_block_number(segment.block_number);
  out.set_total_blocks(segment.total_blocks);
  out.set_fd_unix_s(segment.fd_unix_s);
  out.set_fd_text(segment.fd_text);
  out.set_version(segment.version == qbt::Version::kV2 ? v1::PROTOCOL_VERSION_V2 : v1::PROTOCOL_VERSION_V1);
  out.set_declared_checksum(segment.declared_checksum);
  out.set_data(segment.data.data(), segment.data.size());
  out.set_received_unix_us(received_unix_us);
  out.set_source(std::string(source));
  out.set_stream_offset(segment.stream_offset);
}

bool fromMessage(const v1::Segment& m, qbt::Segment& out) {
  if (m.data().size() != qbt::kBlockSize) return false;
  out.filename = m.filename();
  out.block_number = m.block_number();
  out.total_blocks = m.total_blocks();
  out.declared_checksum = m.declared_checksum();
  out.fd_unix_s = m.fd_unix_s();
  out.fd_text = m.fd_text();
  out.version = m.version() == v1::PROTOCOL_VERSION_V2 ? qbt::Version::kV2 : qbt::Version::kV1;
  std::memcpy(out.data.data(), m.data().data(), qbt::kBlockSize);
  out.stream_offset = m.stream_offset();
  out.is_fill = m.filename() == "FILLFILE.TXT";
  return true;
}

void toMessage(assembly::CompletedFile&& file, v1::CompletedFile& out) {
  out.set_filename(std::move(file.name));
  out.set_size_bytes(file.data.size());
  out.set_sha256(std::move(file.sha256));
  out.set_raw_sha256(std::move(file.raw_sha256));
  out.set_fd_unix_s(file.fd_unix_s);
  out.set_first_segment_unix_us(toUnixUs(file.first_segment_time));
  out.set_last_segment_unix_us(toUnixUs(file.last_segment_time));
  out.set_block_count(file.block_count);
  out.set_source(std::move(file.source));
  out.set_is_archive(file.is_archive);
  if (file.origin == assembly::Origin::kArchiveEntry) {
    out.set_origin(v1::FILE_ORIGIN_ARCHIVE_ENTRY);
    auto* link = out.mutable_archive();
    link->set_archive_name(std::move(file.archive.archive_name));
    link->set_archive_sha256(std::move(file.archive.archive_sha256));
    link->set_entry_name(std::move(file.archive.entry_name));
  } else {
    out.set_origin(v1::FILE_ORIGIN_BLOCKS);
    out.clear_archive();
  }
  out.set_data(std::move(file.data));
}

}  // namespace emwin::mapping
