// emwin-query: asks an emwin-archive database what people ask a receiver.
//
//   emwin-query active --ugc IAC001                    what is in effect in this county or zone now
//   emwin-query active --point 41.6,-93.6 [--at TIME]  ... at this place (polygon, else a UGC centroid within 25 km)
//   emwin-query alerts --since 24h --phenomenon TO --office KDMX
//   emwin-query files --name 'ZFP*' --since 1h
//   emwin-query event KDMX.TO.W.0042.2025              the lifecycle of one event
//
// --db (env EMWIN_DB) names the archive (sqlite:PATH or postgresql://...);
// --json prints one JSON object per line instead of a table. Exit codes: 0,
// 2 on bad options (one line naming the option), 1 when the database cannot be
// read.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <iostream>

#include "alerts/active_state.h"
#include "archive/reader.h"
#include "products/product.h"
#include "query_text.h"
#include "runtime/cli.h"

namespace {

using emwin::query::Instant;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

CLI::Validator InstantValidator(bool durations) {
  return CLI::Validator(
      [durations](std::string& v) -> std::string {
        if (emwin::query::parseInstant(v, durations)) return {};
        return "'" + v + "' is not a time (now, latest, Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z" +
               std::string(durations ? ", or a duration back from now: 90s 30m 24h 7d 2w)" : ")");
      },
      "TIME");
}

CLI::Validator PointValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (emwin::query::parsePoint(v)) return {};
        return "'" + v + "' is not LAT,LON in degrees (e.g. 41.6,-93.6)";
      },
      "LAT,LON");
}

CLI::Validator UgcValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        v = upper(v);
        const bool ok = v.size() == 6 && std::isalpha(static_cast<unsigned char>(v[0])) &&
                        std::isalpha(static_cast<unsigned char>(v[1])) && (v[2] == 'C' || v[2] == 'Z') &&
                        std::all_of(v.begin() + 3, v.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
        return ok ? std::string() : "'" + v + "' is not a UGC code (e.g. IAC169, IAZ048)";
      },
      "UGC");
}

CLI::Validator TokenValidator(std::size_t max) {
  return CLI::Validator(
      [max](std::string& v) -> std::string {
        v = upper(v);
        const bool ok = !v.empty() && v.size() <= max &&
                        std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
        return ok ? std::string() : "'" + v + "' is not a code of letters and digits";
      },
      "CODE");
}

CLI::Validator EventKeyValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (emwin::alerts::EventKey::parse(v)) return {};
        return "'" + v + "' is not an event key (OFFICE.PHENOMENON.SIGNIFICANCE.ETN.YEAR, e.g. KDMX.TO.W.0042.2025)";
      },
      "KEY");
}

CLI::Validator DatabaseUrlValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        std::string error;
        return emwin::archive::parseDatabaseUrl(v, error) ? std::string() : error;
      },
      "URL");
}

int fail(const std::string& message, int code) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::cerr << "emwin-query: " << line << '\n';
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  namespace archive = emwin::archive;
  namespace query = emwin::query;
  std::string db = "sqlite:./var/archive/archive.db";
  bool json = false;
  emwin::runtime::Cli cli("emwin-query",
                          "emwin-query: what is in effect, what was received, what happened to an event — from an "
                          "emwin-archive database");
  cli.option("--db", db, "the archive: sqlite:PATH or postgresql://user[:password]@host[:port]/dbname")
      ->check(DatabaseUrlValidator());
  cli.flag("--json", json, "one JSON object per line instead of a table", "");
  CLI::App& app = cli.app();
  app.require_subcommand(1, 1);

  // active
  CLI::App* active = app.add_subcommand("active", "events in effect (by UGC, by point, or everywhere) at a time");
  std::string ugc, point, at = "now";
  double distance_km = 25;
  bool pending = false;
  std::string a_office, a_phenomenon, a_significance;
  int max_tier = 0;
  auto* ugc_opt = active->add_option("--ugc", ugc, "a county or zone, e.g. IAC169")->check(UgcValidator());
  auto* point_opt = active->add_option("--point", point, "LAT,LON: inside an event's polygon, else a UGC centroid within --distance-km")
                        ->check(PointValidator());
  ugc_opt->excludes(point_opt);
  active->add_option("--distance-km", distance_km, "with --point: how far a UGC centroid may be (0: polygons only)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  active->add_option("--at", at, "when: now, latest (the archive's latest product time), Unix seconds or "
                                 "YYYY-MM-DDTHH:MMZ")
      ->check(InstantValidator(false))
      ->capture_default_str();
  active->add_flag("--pending", pending, "also events that begin later");
  active->add_option("--office", a_office, "only events of this office (KDMX or DMX)")->check(TokenValidator(4));
  active->add_option("--phenomenon", a_phenomenon, "only this phenomenon (TO, SV, FF, WS ...)")->check(TokenValidator(3));
  active->add_option("--significance", a_significance, "only this significance (W, A, Y, S)")->check(TokenValidator(1));
  active->add_option("--max-tier", max_tier, "only tiers up to this (1 emergency, 2 warning, 3 watch, 4 advisory, ...)")
      ->check(CLI::Range(1, 7));

  // alerts
  CLI::App* alerts_cmd = app.add_subcommand("alerts", "stored alerts, newest first");
  std::string since, until, by = "received";
  archive::AlertQuery aq;
  aq.limit = 100;
  bool tests = false, only_tests = false;
  alerts_cmd->add_option("--since", since, "from: a duration back from now (24h, 7d) or a time")->check(InstantValidator(true));
  alerts_cmd->add_option("--until", until, "before: a duration back from now or a time")->check(InstantValidator(true));
  alerts_cmd->add_option("--by", by, "which time --since/--until mean: received (by the archive) or issued")
      ->check(CLI::IsMember({"received", "issued"}))
      ->capture_default_str();
  alerts_cmd->add_option("--office", aq.office, "office (KDMX or DMX; also the WMO office)")->check(TokenValidator(4));
  alerts_cmd->add_option("--phenomenon", aq.phenomenon, "phenomenon (TO, SV, FF, ...)")->check(TokenValidator(3));
  alerts_cmd->add_option("--significance", aq.significance, "significance (W, A, Y, S, R)")->check(TokenValidator(1));
  alerts_cmd->add_option("--ugc", aq.ugc, "alerts naming this county or zone")->check(UgcValidator());
  alerts_cmd->add_option("--event", aq.event_key, "alerts of one event")->check(EventKeyValidator());
  alerts_cmd->add_option("--awips", aq.awips_id, "AWIPS ID, e.g. TORDMX")->check(TokenValidator(6));
  auto* tests_flag = alerts_cmd->add_flag("--tests", tests, "also test messages");
  alerts_cmd->add_flag("--only-tests", only_tests, "only test messages")->excludes(tests_flag);
  alerts_cmd->add_option("--limit", aq.limit, "at most this many (0: all)")->capture_default_str();

  // files
  CLI::App* files_cmd = app.add_subcommand("files", "stored files, newest first");
  std::string f_since, f_until, f_by = "received";
  archive::FileQuery fq;
  fq.limit = 100;
  files_cmd->add_option("--name", fq.name_glob, "product name; * and ? are wildcards (quote them: 'ZFP*')");
  files_cmd->add_option("--ext", fq.ext, "extension: TXT, GIF, ZIP ...")->check(TokenValidator(8));
  files_cmd->add_option("--sha256", fq.sha256, "a prefix of the SHA-256 (hex)");
  files_cmd->add_option("--since", f_since, "from: a duration back from now (1h, 2d) or a time")->check(InstantValidator(true));
  files_cmd->add_option("--until", f_until, "before: a duration back from now or a time")->check(InstantValidator(true));
  files_cmd->add_option("--by", f_by, "which time --since/--until mean: received (by the archive) or fd (the /FD stamp)")
      ->check(CLI::IsMember({"received", "fd"}))
      ->capture_default_str();
  files_cmd->add_option("--limit", fq.limit, "at most this many (0: all)")->capture_default_str();

  // event
  CLI::App* event_cmd = app.add_subcommand("event", "the lifecycle of one event: its state and every stored alert");
  std::string key;
  event_cmd->add_option("key", key, "event key, e.g. KDMX.TO.W.0042.2025")->required()->check(EventKeyValidator());

  if (auto code = cli.parse(argc, argv)) return *code;

  std::unique_ptr<archive::Reader> reader;
  try {
    reader = archive::Reader::open(db);
  } catch (const archive::DatabaseError& e) {
    return fail("--db: " + std::string(e.what()), e.kind() == archive::DatabaseError::Kind::kTransient ? 1 : 2);
  }
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  try {
    if (active->parsed()) {
      const Instant when = *query::parseInstant(at, false);
      const std::int64_t latest = when.kind == Instant::Kind::kLatest ? reader->latestIssued() : 0;
      archive::ActiveFilter f;
      f.query.at_unix_s = query::resolve(when, now, latest);
      f.query.include_pending = pending;
      f.query.distance_km = distance_km;
      if (!ugc.empty()) {
        f.query.where = archive::Where::kUgc;
        f.query.ugc = ugc;
      } else if (!point.empty()) {
        const auto p = *query::parsePoint(point);
        f.query.where = archive::Where::kPoint;
        f.query.lat = p.first;
        f.query.lon = p.second;
      }
      f.office = a_office;
      f.phenomenon = a_phenomenon;
      f.significance = a_significance;
      f.max_tier = max_tier;
      const auto events = reader->activeAlerts(f);
      if (json) {
        for (const auto& e : events) std::cout << query::activeJson(e, f.query.at_unix_s).dump() << '\n';
      } else {
        std::cout << "in effect at " << emwin::products::isoUtc(f.query.at_unix_s)
                  << (ugc.empty() ? "" : " in " + ugc) << (point.empty() ? "" : " at " + point) << ":\n"
                  << query::activeTable(events);
      }
    } else if (alerts_cmd->parsed()) {
      const std::int64_t latest = reader->latestIssued();
      if (!since.empty()) aq.since_unix_s = query::resolve(*query::parseInstant(since, true), now, latest);
      if (!until.empty()) aq.until_unix_s = query::resolve(*query::parseInstant(until, true), now, latest);
      aq.time = by == "issued" ? archive::TimeField::kProduct : archive::TimeField::kReceived;
      aq.include_tests = tests;
      aq.only_tests = only_tests;
      const auto rows = reader->alerts(aq);
      if (json) {
        for (const auto& r : rows) std::cout << query::alertJson(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      } else {
        std::cout << query::alertsTable(rows);
      }
    } else if (files_cmd->parsed()) {
      const std::int64_t latest = reader->latestIssued();
      if (!f_since.empty()) fq.since_unix_s = query::resolve(*query::parseInstant(f_since, true), now, latest);
      if (!f_until.empty()) fq.until_unix_s = query::resolve(*query::parseInstant(f_until, true), now, latest);
      fq.time = f_by == "fd" ? archive::TimeField::kProduct : archive::TimeField::kReceived;
      const auto rows = reader->files(fq);
      if (json) {
        for (const auto& r : rows) std::cout << query::fileJson(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      } else {
        std::cout << query::filesTable(rows);
      }
    } else if (event_cmd->parsed()) {
      const auto h = reader->event(key);
      if (!h) return fail("event " + key + ": not in the archive", 1);
      if (json) {
        std::cout << query::eventJson(key, *h).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      } else {
        std::cout << query::eventText(key, *h);
      }
    }
  } catch (const archive::DatabaseError& e) {
    return fail(e.what(), 1);
  }
  return 0;
}
