// bench_archive: how fast emwin-archive stores alerts, and how long
// `emwin-query active --point` takes, on SQLite and on a real PostgreSQL
// (PostGIS) the program starts itself (tests/archive/postgres_server.h).
//
// Alerts: N severe thunderstorm warnings (default 100,000), each its own VTEC
// event (10 offices x ETNs per year), 45 minutes long, one every 10 minutes
// (about 5 in effect at any time), with a 0.3-degree polygon spread over a
// 100 x 20 grid across the central US and one UGC. Stored through
// archive::Writer in batches of --batch (500: emwin-archive's --batch-rows),
// each batch one transaction, as the service does. Figure: alerts/s.
//
// Point queries: --queries random (point, time) pairs inside the stored range
// through archive::Reader::active (what emwin-query active --point runs, minus
// process start and printing); half the points are inside the polygon of an
// event in effect. Figures: p50, p90, p99, max latency, and matches.
//
// Usage: bench_archive [--alerts N] [--queries Q] [--batch B] [--backend sqlite|postgres|both] [--dir DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "archive/postgres_server.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "runtime/sha256.h"

namespace {

namespace archive = emwin::archive;
namespace v1 = emwin::bus::v1;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kStart = 1'735'689'600;  // 2025-01-01T00:00:00Z
constexpr std::int64_t kEvery = 600;            // one new warning every 10 minutes
constexpr std::int64_t kLasts = 2700;           // each lasts 45 minutes
const char* const kOffices[] = {"KDMX", "KOAX", "KDVN", "KARX", "KFSD", "KMPX", "KEAX", "KTOP", "KICT", "KGID"};

struct Square {
  double lat, lon;  // south-west corner
};
Square squareOf(std::size_t k) {
  return {35.0 + static_cast<double>((k / 100) % 20) * 0.5, -105.0 + static_cast<double>(k % 100) * 0.3};
}

v1::Alert makeAlert(std::size_t k) {
  v1::Alert a;
  const std::int64_t issued = kStart + static_cast<std::int64_t>(k) * kEvery;
  const char* office = kOffices[k % 10];
  const std::uint32_t etn = static_cast<std::uint32_t>((k / 10) % 9999 + 1);
  a.set_filename(fmt::format("SVR{}{:06}.TXT", std::string(office).substr(1), k % 1000000));
  a.set_file_sha256(emwin::runtime::sha256Hex(std::string_view(fmt::format("bench-alert-{}", k))));
  a.set_awips_id("SVR" + std::string(office).substr(1));
  a.set_office(office);
  a.set_phenomenon("SV");
  a.set_significance("W");
  a.set_event_name("Severe Thunderstorm Warning");
  a.set_phenomenon_name("Severe Thunderstorm");
  a.set_significance_name("Warning");
  a.set_action("NEW");
  a.set_vtec_product_class("O");
  a.set_event_tracking_number(etn);
  a.set_issued_unix_s(issued);
  a.set_begin_unix_s(issued);
  a.set_end_unix_s(issued + kLasts);
  a.set_expires_unix_s(issued + kLasts);
  a.set_tier(v1::PRIORITY_TIER_WARNING);
  a.set_headline("SEVERE THUNDERSTORM WARNING");
  a.set_vtec(fmt::format("/O.NEW.{}.SV.W.{:04}.000000T0000Z-000000T0000Z/", office, etn));
  a.add_ugc("IAC153");
  const Square s = squareOf(k);
  for (auto [dlat, dlon] : {std::pair{0.0, 0.0}, {0.3, 0.0}, {0.3, 0.3}, {0.0, 0.3}, {0.0, 0.0}}) {
    auto* p = a.add_polygon();
    p->set_lat_deg(s.lat + dlat);
    p->set_lon_deg(s.lon + dlon);
  }
  return a;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void run(const std::string& label, const std::string& url, std::size_t n, std::size_t queries, std::size_t batch) {
  std::string error;
  archive::Writer writer(archive::makeDatabase(*archive::parseDatabaseUrl(url, error), archive::OpenMode::kWrite));
  writer.open();
  // Build the alerts first: only storing is timed.
  std::vector<archive::Batch> batches;
  for (std::size_t k = 0; k < n; k += batch) {
    archive::Batch b;
    for (std::size_t i = k; i < std::min(n, k + batch); ++i) {
      b.alerts.push_back(archive::alertRecord(makeAlert(i), "alert.SV.W.X", kStart));
    }
    batches.push_back(std::move(b));
  }
  const auto t0 = Clock::now();
  std::size_t stored = 0;
  for (const auto& b : batches) stored += writer.commit(b, kStart).alerts_new;
  const double insert_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (stored != n) std::fprintf(stderr, "%s: stored %zu of %zu alerts\n", label.c_str(), stored, n);
  // Again: every alert already there (what a redelivery costs).
  const auto t1 = Clock::now();
  std::size_t dup = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(batches.size(), 20); ++i) dup += writer.commit(batches[i], kStart).alerts_duplicate;
  const double dup_s = std::chrono::duration<double>(Clock::now() - t1).count();

  auto reader = archive::Reader::open(url);
  std::mt19937_64 rng(42);
  std::vector<double> ms;
  std::size_t matches = 0, hits = 0;
  for (std::size_t q = 0; q < queries; ++q) {
    // Half the queries at the polygon of an event in effect then, half at a random place.
    const std::size_t k = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    archive::ActiveFilter f;
    f.query.where = archive::Where::kPoint;
    f.query.at_unix_s = kStart + static_cast<std::int64_t>(k) * kEvery + 60;
    if (q % 2 == 0) {
      const Square s = squareOf(k);
      f.query.lat = s.lat + 0.15;
      f.query.lon = s.lon + 0.15;
    } else {
      f.query.lat = std::uniform_real_distribution<double>(35.0, 45.0)(rng);
      f.query.lon = std::uniform_real_distribution<double>(-105.0, -75.0)(rng);
    }
    const auto s0 = Clock::now();
    const auto found = reader->active(f);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s0).count());
    matches += found.size();
    if (q % 2 == 0 && !found.empty()) ++hits;
  }
  std::printf("%-10s | %zu alerts in %.2f s: %.0f alerts/s (batches of %zu) | again (already stored): %.0f alerts/s | "
              "active --point x%zu: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %zu/%zu inside-polygon queries "
              "matched, %.2f events per query\n",
              label.c_str(), n, insert_s, static_cast<double>(n) / insert_s, batch,
              static_cast<double>(dup) / dup_s, queries, pct(ms, 0.5), pct(ms, 0.9), pct(ms, 0.99),
              *std::max_element(ms.begin(), ms.end()), hits, queries / 2,
              static_cast<double>(matches) / static_cast<double>(queries));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 100'000, queries = 1000, batch = 500;
  std::string backend = "both", dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--alerts") n = std::stoul(v);
    else if (a == "--queries") queries = std::stoul(v);
    else if (a == "--batch") batch = std::stoul(v);
    else if (a == "--backend") backend = v;
    else if (a == "--dir") dir = v;
    else {
      std::fprintf(stderr, "bench_archive: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (n == 0 || batch == 0 || queries == 0) {
    std::fprintf(stderr, "bench_archive: --alerts, --batch and --queries must be positive\n");
    return 2;
  }
  try {
    if (backend == "sqlite" || backend == "both") {
      const std::string d = dir.empty() ? emwin::test::makeTempDir("emwin-bench-archive") : dir;
      const std::string path = d + "/bench.db";
      std::filesystem::remove(path);
      run("sqlite", "sqlite:" + path, n, queries, batch);
      if (dir.empty()) std::filesystem::remove_all(d);
    }
    if (backend == "postgres" || backend == "both") {
      emwin::test::PostgresServer pg;  // fsync off, like the tests: a figure of the archive, not of the disk
      pg.start();
      run("postgresql", pg.createDatabase("bench"), n, queries, batch);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_archive: %s\n", e.what());
    return 1;
  }
  return 0;
}
