#pragma once
// FileClassifier: the socket-free heart of emwin-alert-classifier. Turns one
// CompletedFile into the Alert messages (with their bus topics) that the
// service publishes, or says why it produced none (binary file skipped,
// unparsable payload). Binaries are recognised cheaply: archives
// (is_archive), image/archive extensions and magic numbers, or bytes that do
// not look like text. Text products are parsed with the file's /FD time as
// reference and classified by emwin::products (topic rule: products/classify.h).
// Never throws on any input; problems are reported in the result.
//
// Thread-safety: stateless apart from its options; classify() may be called
// concurrently on one instance.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"

namespace emwin::sinks {

// What became of one file.
enum class FileOutcome : std::uint8_t {
  kClassified,  // text product parsed; `alerts` holds one entry per event
  kNonText,     // binary (image, archive, ...): skipped, no alerts
  kError,       // unexpected failure inside the parser (caught); no alerts
};

// One alert ready to publish (header not yet filled).
struct TopicAlert {
  std::string topic;               // alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>
  emwin::bus::v1::Alert alert;     // everything but the header
  std::string json_line;           // one-line JSON (products::alertToJson + file_sha256), for the alert log
};

// Result of classifying one file.
struct FileResult {
  FileOutcome outcome = FileOutcome::kClassified;
  std::vector<TopicAlert> alerts;
  std::size_t issue_count = 0;     // parser issues of the product (0 = clean)
  std::string skip_reason;         // kNonText: "archive", "extension", "magic", "bytes"; kError: the message
  // Not a result: cleared alerts of earlier files, kept so that classifying
  // into the same FileResult again reuses their strings and repeated fields
  // instead of allocating them anew.
  std::vector<TopicAlert> spare;
};

// Options of the classifier.
struct FileClassifierOptions {
  bool with_json = false;          // fill TopicAlert::json_line
  std::size_t sniff_bytes = 512;   // bytes inspected to decide text vs binary
};

class FileClassifier {
 public:
  explicit FileClassifier(FileClassifierOptions options = {}) : options_(options) {}

  // Classifies `file` (its data, filename, sha256, fd_unix_s, is_archive).
  FileResult classify(const emwin::bus::v1::CompletedFile& file) const noexcept;

  // Same, into `result`, replacing what it held; reuses its storage (for a
  // service loop that classifies file after file).
  void classify(const emwin::bus::v1::CompletedFile& file, FileResult& result) const noexcept;

 private:
  FileClassifierOptions options_;
};

// Why `file` should be skipped as non-text ("archive", "extension", "magic",
// "bytes"), or empty when it should be parsed as a text product. Order:
// is_archive; binary extensions (GIF, JPG, PNG, ZIP, ...); binary magic
// numbers; text extensions (.TXT, .WMO) are then parsed as text; any other
// name is parsed only if its first `sniff_bytes` look like text.
std::string nonTextReason(std::string_view filename, std::string_view data, bool is_archive,
                          std::size_t sniff_bytes = 512) noexcept;

}  // namespace emwin::sinks
