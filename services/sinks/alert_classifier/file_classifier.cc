#include "file_classifier.h"

#include <algorithm>
#include <array>
#include <exception>

#include "products/classify.h"
#include "products/product.h"

namespace emwin::sinks {
namespace {

std::string upperExtension(std::string_view filename) {
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string ext(filename.substr(dot + 1));
  for (char& ch : ext) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return ext;
}

constexpr std::array<std::string_view, 12> kBinaryExtensions = {"GIF", "JPG", "JPEG", "PNG", "ZIP", "ZIS",
                                                                "GZ",  "BIN", "IMG",  "PDF", "TIF", "BMP"};
constexpr std::array<std::string_view, 2> kTextExtensions = {"TXT", "WMO"};

bool startsWith(std::string_view data, std::string_view magic) {
  return data.size() >= magic.size() && data.substr(0, magic.size()) == magic;
}

bool hasBinaryMagic(std::string_view data) {
  using namespace std::string_view_literals;
  return startsWith(data, "GIF87a"sv) || startsWith(data, "GIF89a"sv) || startsWith(data, "\x89PNG\r\n\x1a\n"sv) ||
         startsWith(data, "\xFF\xD8\xFF"sv) || startsWith(data, "PK\x03\x04"sv) || startsWith(data, "\x1F\x8B"sv) ||
         startsWith(data, "%PDF"sv);
}

// True if the first `n` bytes look like an NWS text product: printable ASCII,
// CR/LF/TAB, SOH/ETX framing; at most 1 in 20 other bytes and no NUL.
bool looksLikeText(std::string_view data, std::size_t n) {
  std::string_view head = data.substr(0, std::min(n, data.size()));
  if (head.empty()) return false;
  std::size_t odd = 0;
  for (unsigned char ch : head) {
    if (ch == 0) return false;
    bool ok = (ch >= 0x20 && ch < 0x7F) || ch == '\r' || ch == '\n' || ch == '\t' || ch == 0x01 || ch == 0x03 ||
              ch == 0x1E;
    if (!ok) ++odd;
  }
  return odd * 20 <= head.size();
}

// Turns `result` into a kError result carrying `what` (when given).
void failed(FileResult& result, const char* what) noexcept {
  try {
    result.alerts.clear();
    result.issue_count = 0;
    result.outcome = FileOutcome::kError;
    result.skip_reason = what != nullptr ? what : "";
  } catch (...) {
  }
}

}  // namespace

std::string nonTextReason(std::string_view filename, std::string_view data, bool is_archive,
                          std::size_t sniff_bytes) noexcept {
  if (is_archive) return "archive";
  const std::string ext = upperExtension(filename);
  if (std::find(kBinaryExtensions.begin(), kBinaryExtensions.end(), ext) != kBinaryExtensions.end()) {
    return "extension";
  }
  if (hasBinaryMagic(data)) return "magic";
  if (std::find(kTextExtensions.begin(), kTextExtensions.end(), ext) != kTextExtensions.end()) return {};
  return looksLikeText(data, sniff_bytes) ? std::string() : std::string("bytes");
}

FileResult FileClassifier::classify(const emwin::bus::v1::CompletedFile& file) const noexcept {
  FileResult result;
  classify(file, result);
  return result;
}

namespace {

// Moves the alerts of a previous file into the spare pool, cleared.
void recycle(FileResult& result) noexcept {
  for (TopicAlert& a : result.alerts) {
    a.topic.clear();
    a.alert.Clear();
    a.json_line.clear();
    result.spare.push_back(std::move(a));
  }
  result.alerts.clear();
  result.outcome = FileOutcome::kClassified;
  result.issue_count = 0;
  result.skip_reason.clear();
}

// A cleared TopicAlert appended to result.alerts, from the pool if it has one.
TopicAlert& nextAlert(FileResult& result) {
  if (result.spare.empty()) return result.alerts.emplace_back();
  result.alerts.push_back(std::move(result.spare.back()));
  result.spare.pop_back();
  return result.alerts.back();
}

}  // namespace

void FileClassifier::classify(const emwin::bus::v1::CompletedFile& file, FileResult& result) const noexcept {
  try {
    recycle(result);
    result.skip_reason = nonTextReason(file.filename(), file.data(), file.is_archive(), options_.sniff_bytes);
    if (!result.skip_reason.empty()) {
      result.outcome = FileOutcome::kNonText;
      return;
    }
    const products::ParsedProduct product = products::parseProduct(file.data(), file.fd_unix_s());
    result.issue_count = product.issues.size();
    std::vector<products::Classified> events = products::classify(product);
    result.alerts.reserve(events.size());
    for (const products::Classified& c : events) {
      TopicAlert& out = nextAlert(result);
      out.topic.assign(c.topic);
      products::toProto(c, product, out.alert);
      out.alert.set_filename(file.filename());
      out.alert.set_file_sha256(file.sha256());
      if (options_.with_json) {
        nlohmann::json j = products::alertToJson(c, product, file.filename());
        j["file_sha256"] = file.sha256();
        j["fd_unix_s"] = file.fd_unix_s();
        // Invalid UTF-8 in a product must not throw: replace it.
        out.json_line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    result.outcome = FileOutcome::kClassified;
  } catch (const std::exception& e) {
    failed(result, e.what());
  } catch (...) {
    failed(result, nullptr);
  }
}

}  // namespace emwin::sinks
