// Lookups in the compiled reference tables (binary search by code).
#include "products/reference.h"

#include <algorithm>
#include <vector>

namespace emwin::products {
namespace {

template <typename Row, typename Key>
const Row* find(std::span<const Row> rows, std::string_view code, Key key) noexcept {
  auto it = std::lower_bound(rows.begin(), rows.end(), code,
                             [&](const Row& r, std::string_view c) { return r.*key < c; });
  return it != rows.end() && (*it).*key == code ? &*it : nullptr;
}

std::string_view text(detail::TextRef r) noexcept { return {detail::kText + r.offset, r.size}; }

template <typename Out, typename In, typename Convert>
std::vector<Out> build(const In* rows, std::size_t n, Convert convert) {
  std::vector<Out> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(convert(rows[i]));
  return out;
}

}  // namespace

std::span<const UgcPlace> ugcPlaces() noexcept {
  static const std::vector<UgcPlace> table = build<UgcPlace>(
      detail::kUgcRows, detail::kUgcRowCount,
      [](const detail::UgcRow& r) { return UgcPlace{text(r.code), r.county, text(r.name), r.lat, r.lon}; });
  return table;
}

std::span<const OfficeInfo> offices() noexcept {
  static const std::vector<OfficeInfo> table =
      build<OfficeInfo>(detail::kOfficeRows, detail::kOfficeRowCount, [](const detail::OfficeRow& r) {
        return OfficeInfo{text(r.code), text(r.name), text(r.city), text(r.state)};
      });
  return table;
}

std::span<const ProductTitle> productTitles() noexcept {
  static const std::vector<ProductTitle> table =
      build<ProductTitle>(detail::kProductRows, detail::kProductRowCount, [](const detail::ProductRow& r) {
        return ProductTitle{text(r.code), text(r.wmo_prefix), text(r.title)};
      });
  return table;
}

std::span<const RiverPoint> riverPoints() noexcept {
  static const std::vector<RiverPoint> table =
      build<RiverPoint>(detail::kRiverRows, detail::kRiverRowCount, [](const detail::RiverRow& r) {
        return RiverPoint{text(r.nwsli), text(r.state), text(r.stream), text(r.proximity), text(r.place), r.lat,
                          r.lon};
      });
  return table;
}

namespace {

// UGC codes are looked up for every UGC of every alert: the sorted table is
// split once into buckets by their "SSC"/"SSZ" prefix (26 x 26 x 2), so a
// lookup is one index and a short binary search on the 3-digit number.
struct UgcIndex {
  static constexpr std::size_t kBuckets = 26 * 26 * 2;
  std::vector<std::uint32_t> begin = std::vector<std::uint32_t>(kBuckets + 1, 0);
  std::vector<std::uint16_t> number;  // parallel to ugcPlaces(): the 3-digit number

  static int bucketOf(std::string_view code) noexcept {
    const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    if (code.size() != 6 || !upper(code[0]) || !upper(code[1]) || (code[2] != 'C' && code[2] != 'Z')) return -1;
    return ((code[0] - 'A') * 26 + (code[1] - 'A')) * 2 + (code[2] == 'Z' ? 1 : 0);
  }
  static int numberOf(std::string_view code) noexcept {
    int n = 0;
    for (std::size_t i = 3; i < 6; ++i) {
      if (code[i] < '0' || code[i] > '9') return -1;
      n = n * 10 + (code[i] - '0');
    }
    return n;
  }
};

const UgcIndex& ugcIndex() noexcept {
  static const UgcIndex index = [] {
    UgcIndex x;
    const auto places = ugcPlaces();
    x.number.reserve(places.size());
    std::vector<std::uint32_t> counts(UgcIndex::kBuckets, 0);
    for (const UgcPlace& p : places) {
      ++counts[static_cast<std::size_t>(UgcIndex::bucketOf(p.code))];  // generator checked the shape
      x.number.push_back(static_cast<std::uint16_t>(UgcIndex::numberOf(p.code)));
    }
    // Sorted by code = sorted by (bucket, number), "C" before "Z".
    for (std::size_t b = 0; b < UgcIndex::kBuckets; ++b) x.begin[b + 1] = x.begin[b] + counts[b];
    return x;
  }();
  return index;
}

}  // namespace

const UgcPlace* findUgc(std::string_view code) noexcept {
  const int bucket = UgcIndex::bucketOf(code);
  if (bucket < 0) return nullptr;
  const int n = UgcIndex::numberOf(code);
  if (n < 0) return nullptr;
  const UgcIndex& x = ugcIndex();
  const auto first = x.number.begin() + x.begin[static_cast<std::size_t>(bucket)];
  const auto last = x.number.begin() + x.begin[static_cast<std::size_t>(bucket) + 1];
  const auto it = std::lower_bound(first, last, static_cast<std::uint16_t>(n));
  if (it == last || *it != n) return nullptr;
  return &ugcPlaces()[static_cast<std::size_t>(it - x.number.begin())];
}

const OfficeInfo* findOffice(std::string_view code) noexcept {
  if (code.size() == 4) {
    // ICAO-style identifiers: K (CONUS), P (Alaska, Hawaii, Pacific) and
    // N (NSTU, Pago Pago) prefix the 3-letter office; San Juan is the exception.
    if (code == "TJSJ") return find(offices(), "SJU", &OfficeInfo::code);
    if (code[0] != 'K' && code[0] != 'P' && code[0] != 'N') return nullptr;
    code.remove_prefix(1);
  }
  if (code.size() != 3) return nullptr;
  return find(offices(), code, &OfficeInfo::code);
}

std::string_view productTitle(std::string_view code) noexcept {
  if (code.size() != 3) return {};
  const ProductTitle* p = find(productTitles(), code, &ProductTitle::code);
  return p != nullptr ? p->title : std::string_view();
}

const RiverPoint* findRiverPoint(std::string_view nwsli) noexcept {
  if (nwsli.size() != 5 || nwsli == "00000") return nullptr;
  return find(riverPoints(), nwsli, &RiverPoint::nwsli);
}

}  // namespace emwin::products
