#pragma once
// Loading the products the simulator streams: every regular file under a
// directory (recursively), with a QBT-style 8.3 name, its SHA-256 and a
// priority flag. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace emwin::sim {

// One product as read from disk.
struct Product {
  std::string name;                    // QBT file name sent in /PF, e.g. "TORFSD03.TXT"
  std::string path;                    // source path on disk
  std::vector<std::uint8_t> content;   // bytes as read from disk
  std::string sha256;                  // lower-case hex SHA-256 of content
  bool high_priority = false;          // warning: interrupts other files, sent twice
};

// True when a file stem names a warning product. Rule: the upper-cased stem
// starts with one of the AWIPS warning codes TOR, SVR, SVS, FFW, FFS, SMW,
// EWW, SQW (tornado, severe thunderstorm, severe weather statement, flash
// flood warning/statement, special marine, extreme wind, snow squall).
bool isWarningStem(std::string_view stem) noexcept;

// Builds the QBT name of the `index`-th product (sorted by path): up to six
// upper-case alphanumerics of the stem, two base-36 digits of the index
// (unique up to 1296 files), '.', and up to three upper-case alphanumerics
// of the source extension ("TXT" when there is none).
std::string qbtName(std::string_view source_filename, std::size_t index);

// Loads every non-empty regular file under `dir`, sorted by path. Returns an
// empty vector and sets *error when the directory cannot be read.
std::vector<Product> loadProducts(const std::string& dir, std::string* error);

}  // namespace emwin::sim
