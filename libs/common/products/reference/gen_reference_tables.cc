// gen_reference_tables: build-time generator. Reads the four reference CSVs of
// data/reference/ (ugc.csv, offices.csv, products.csv, river_points.csv) and
// writes one C++ source that defines them as sorted constant tables for
// products/reference.h, so no program needs the CSV files at run time. The
// tables are plain integers (offset and size into one text blob) and numbers,
// which compile in a second; string_view aggregates of this size take the
// compiler many minutes.
//
//   gen_reference_tables <csv-dir> <output.cc>
//
// Checks every row (column count, key shape, numeric coordinates, no duplicate
// keys) and exits 1 naming the file and line of the first problem, so a bad
// table breaks the build instead of shipping. Non-ASCII bytes are written as
// octal escapes. Rows "XXC000"/"XXZ000" ("Any County"/"Any Zone" at 0,0) are
// placeholders, not places, and are left out.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Row = std::vector<std::string>;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  std::cerr << "gen_reference_tables: " << where << ": " << what << "\n";
  std::exit(1);
}

// RFC 4180 CSV: fields separated by commas, optionally quoted ("" inside
// quotes is one quote); CR LF or LF line ends. Returns rows without the header.
std::vector<Row> readCsv(const std::string& path, const Row& header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<Row> rows;
  Row row;
  std::string field;
  bool quoted = false;
  bool fieldStarted = false;
  std::size_t line = 1;
  auto endField = [&] {
    row.push_back(field);
    field.clear();
    fieldStarted = false;
  };
  auto endRow = [&] {
    endField();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(row);
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c == ',') {
      endField();
    } else if (c == '\r') {
      // dropped: CR LF line ends
    } else if (c == '\n') {
      endRow();
      ++line;
    } else {
      field.push_back(c);
      fieldStarted = true;
    }
  }
  if (quoted) fail(path, "unterminated quote");
  if (!field.empty() || !row.empty()) endRow();
  if (rows.empty() || rows.front() != header) fail(path + ":1", "unexpected header");
  rows.erase(rows.begin());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != header.size()) {
      fail(path + ":" + std::to_string(i + 2), "expected " + std::to_string(header.size()) + " columns");
    }
  }
  return rows;
}

// A C++ string literal for `s` (non-ASCII and special bytes as octal escapes).
std::string literal(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7F || c == '?') {  // '?' avoids trigraph-like sequences
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isUpper(c) || isDigit(c); }

// A coordinate as written ("55.3572", "-162.0021"), checked to be a number in [lo, hi].
std::string coordinate(const std::string& s, double lo, double hi, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || v < lo || v > hi) fail(where, "bad coordinate '" + s + "'");
  return s.find('.') == std::string::npos ? s + ".0" : s;
}

// All strings of the tables, written once as a sequence of literals; rows refer
// to them by offset and size.
class TextBlob {
 public:
  // "{offset, size}" of `s` in the blob.
  std::string ref(const std::string& s) {
    const std::size_t offset = size_;
    size_ += s.size();
    literals_ += "    ";
    literals_ += literal(s);
    literals_ += '\n';
    std::ostringstream ref;  // (not operator+ chains: GCC 12 -O3 warns falsely about them, -Wrestrict)
    ref << '{' << offset << ", " << s.size() << '}';
    return ref.str();
  }
  std::string definition() const {
    std::ostringstream out;
    out << "const char kText[] =\n" << literals_ << "    \"\";\nconst std::size_t kTextSize = " << size_ << ";\n\n";
    return out.str();
  }

 private:
  std::string literals_;
  std::size_t size_ = 0;
};

void sortUnique(std::vector<Row>& rows, const std::string& path) {
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[0] < b[0]; });
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][0] == rows[i - 1][0]) fail(path, "duplicate key '" + rows[i][0] + "'");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gen_reference_tables <csv-dir> <output.cc>\n";
    return 1;
  }
  const std::string dir = argv[1];
  TextBlob text;
  std::ostringstream rows;

  {
    const std::string path = dir + "/ugc.csv";
    auto all = readCsv(path, {"ugc", "kind", "name", "latitude", "longitude"});
    std::vector<Row> kept;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const Row& r = all[i];
      const std::string where = path + ":" + std::to_string(i + 2);
      const std::string& code = r[0];
      if (code.size() != 6 || !isUpper(code[0]) || !isUpper(code[1]) || (code[2] != 'C' && code[2] != 'Z') ||
          !isDigit(code[3]) || !isDigit(code[4]) || !isDigit(code[5])) {
        fail(where, "bad UGC code '" + code + "'");
      }
      if (r[1] != "county" && r[1] != "zone") fail(where, "kind must be county or zone");
      if ((r[1] == "county") != (code[2] == 'C')) fail(where, "kind does not match the code");
      if (code.substr(3) == "000") continue;  // "Any County"/"Any Zone" placeholder at 0,0
      kept.push_back(r);
    }
    sortUnique(kept, path);
    rows << "const UgcRow kUgcRows[] = {\n";
    for (const Row& r : kept) {
      const std::string where = path + " row " + r[0];
      rows << "    {" << text.ref(r[0]) << ", " << text.ref(r[2]) << ", " << coordinate(r[3], -90, 90, where) << ", "
           << coordinate(r[4], -180, 180, where) << ", " << (r[1] == "county" ? "true" : "false") << "},\n";
    }
    rows << "};\nconst std::size_t kUgcRowCount = " << kept.size() << ";\n\n";
  }

  {
    const std::string path = dir + "/offices.csv";
    auto all = readCsv(path, {"code", "name", "city", "state"});
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::string& code = all[i][0];
      if (code.size() != 3 || !std::all_of(code.begin(), code.end(), isAlnum)) {
        fail(path + ":" + std::to_string(i + 2), "bad office code '" + code + "'");
      }
    }
    sortUnique(all, path);
    rows << "const OfficeRow kOfficeRows[] = {\n";
    for (const Row& r : all) {
      rows << "    {" << text.ref(r[0]) << ", " << text.ref(r[1]) << ", " << text.ref(r[2]) << ", " << text.ref(r[3])
           << "},\n";
    }
    rows << "};\nconst std::size_t kOfficeRowCount = " << all.size() << ";\n\n";
  }

  {
    const std::string path = dir + "/products.csv";
    auto all = readCsv(path, {"product", "wmo_prefix", "title"});
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::string& code = all[i][0];
      if (code.size() != 3 || !std::all_of(code.begin(), code.end(), isAlnum) || all[i][2].empty()) {
        fail(path + ":" + std::to_string(i + 2), "bad product row '" + code + "'");
      }
    }
    sortUnique(all, path);
    rows << "const ProductRow kProductRows[] = {\n";
    for (const Row& r : all) {
      rows << "    {" << text.ref(r[0]) << ", " << text.ref(r[1]) << ", " << text.ref(r[2]) << "},\n";
    }
    rows << "};\nconst std::size_t kProductRowCount = " << all.size() << ";\n\n";
  }

  {
    const std::string path = dir + "/river_points.csv";
    auto all = readCsv(path, {"nwslid", "state", "stream", "proximity", "place", "latitude", "longitude"});
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::string& code = all[i][0];
      if (code.size() != 5 || !std::all_of(code.begin(), code.end(), isAlnum)) {
        fail(path + ":" + std::to_string(i + 2), "bad NWSLI '" + code + "'");
      }
    }
    sortUnique(all, path);
    rows << "const RiverRow kRiverRows[] = {\n";
    for (const Row& r : all) {
      const std::string where = path + " row " + r[0];
      rows << "    {" << text.ref(r[0]) << ", " << text.ref(r[1]) << ", " << text.ref(r[2]) << ", " << text.ref(r[3])
           << ", " << text.ref(r[4]) << ", " << coordinate(r[5], -90, 90, where) << ", "
           << coordinate(r[6], -180, 180, where) << "},\n";
    }
    rows << "};\nconst std::size_t kRiverRowCount = " << all.size() << ";\n\n";
  }

  std::ostringstream out;
  out << "// Generated by gen_reference_tables from data/reference/*.csv. Do not edit.\n"
      << "#include \"products/reference.h\"\n\n"
      << "namespace emwin::products::detail {\n\n"
      << text.definition() << rows.str() << "}  // namespace emwin::products::detail\n";

  // Write only when the content changed, so an unchanged table does not
  // recompile what depends on it.
  const std::string generated = out.str();
  {
    std::ifstream old(argv[2], std::ios::binary);
    if (old) {
      std::stringstream prev;
      prev << old.rdbuf();
      if (prev.str() == generated) return 0;
    }
  }
  std::ofstream file(argv[2], std::ios::binary | std::ios::trunc);
  file << generated;
  file.close();
  if (!file) fail(argv[2], "cannot write");
  return 0;
}
