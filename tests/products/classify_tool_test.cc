// Runs the built emwin-classify binary on real products and checks its JSON lines.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct RunResult {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;
};

RunResult runTool(const std::string& args, const std::string& cwd = ".") {
  const std::string cmd =
      "cd " + cwd + " && " + std::string(EMWIN_BINARY_DIR) + "/tools/classify/emwin-classify " + args + " 2>/dev/null";
  RunResult r;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return r;
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int status = ::pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    r.lines.push_back(nlohmann::json::parse(out.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return r;
}

std::string corpus(const char* rel) { return std::string(EMWIN_CORPUS_DIR) + "/products/" + rel; }

TEST(ClassifyTool, PrintsProductAndAlertLines) {
  const RunResult r =
      runTool(corpus("tornado_warning/TOR_emergency.txt") + " " + corpus("vtec_regression/vtec-multiple.txt"));
  ASSERT_EQ(r.exit_code, 0);
  // TOR_emergency: 1 product + 1 alert; vtec-multiple: 1 product + 12 alerts (12 P-VTEC lines).
  ASSERT_EQ(r.lines.size(), 1u + 1u + 1u + 12u);
  const auto& prod = r.lines[0];
  EXPECT_EQ(prod["event"], "product");
  EXPECT_EQ(prod["wmo"]["ttaaii"], "WFUS53");
  EXPECT_EQ(prod["wmo"]["cccc"], "KICT");
  EXPECT_EQ(prod["wmo"]["ddhhmm"], "150327");
  EXPECT_EQ(prod["awips_id"], "TORICT");
  EXPECT_EQ(prod["product_code"], "TOR");
  EXPECT_EQ(prod["product_name"], "Tornado Warning");
  EXPECT_EQ(prod["segments"], 1);
  EXPECT_TRUE(prod["issues"].empty());
  const auto& alert = r.lines[1];
  EXPECT_EQ(alert["event"], "alert");
  EXPECT_EQ(alert["vtec"], "/O.NEW.KICT.TO.W.0035.120415T0327Z-120415T0400Z/");
  EXPECT_EQ(alert["ugc"], nlohmann::json::array({"KSC015", "KSC173"}));
  EXPECT_EQ(alert["tier"], "emergency");
  EXPECT_EQ(alert["begin"], "2012-04-15T03:27:00Z");
  EXPECT_EQ(alert["end"], "2012-04-15T04:00:00Z");
  EXPECT_EQ(alert["topic"], "alert.TO.W.KICT");
  EXPECT_EQ(alert["threats"]["tornado"], "OBSERVED");
  EXPECT_EQ(alert["polygon"].size(), 5u);
  EXPECT_EQ(r.lines[2]["product_code"], "NPW");
  EXPECT_EQ(r.lines[2]["segments"], 4);
  EXPECT_EQ(r.lines[3]["action"], "UPG");
  EXPECT_EQ(r.lines[3]["event_name"], "High Wind Watch");
  EXPECT_EQ(r.lines[14]["ugc"].size(), 5u);  // NVZ031-034-035-037-039
}

TEST(ClassifyTool, ShowsTestMarkingNamesAndNewTags) {
  const RunResult r = runTool(corpus("tornado_warning/TORILX.txt") + " " + corpus("snow_squall_warning/SQW-SQWDVN.txt") +
                              " " + corpus("flood_statement/FLS-FLSSEW_vtec1970.txt"));
  ASSERT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.lines.size(), 2u + 3u + 2u);
  const auto& test = r.lines[1];
  EXPECT_EQ(test["topic"], "test.alert.TO.W.KILX");
  EXPECT_EQ(test["tier"], "test");
  EXPECT_EQ(test["is_test"], true);
  EXPECT_EQ(test["test_reason"], "VTEC class T");
  EXPECT_EQ(test["product_title"], "Tornado Warning");
  EXPECT_EQ(test["office_info"]["name"], "WFO Lincoln");
  EXPECT_EQ(test["ugc_areas"][0]["name"], "Cass");  // ILC017
  EXPECT_EQ(r.lines[0]["test_reason"], "TEST banner");
  const auto& squall = r.lines[4];
  EXPECT_EQ(squall["action"], "CON");
  EXPECT_EQ(squall["threats"]["snow_squall"], "OBSERVED");
  EXPECT_EQ(squall["threats"]["snow_squall_impact"], "SIGNIFICANT");
  const auto& flood = r.lines[6];
  ASSERT_EQ(flood["hvtec_records"].size(), 1u);
  EXPECT_EQ(flood["hvtec_records"][0]["point"]["stream"], "Snoqualmie River");
  EXPECT_EQ(flood["hvtec_records"][0]["severity_name"], "Minor");
}

TEST(ClassifyTool, NamesNeedNoDataFileAtRunTime) {
  // The reference tables are compiled in: run from / and from an empty directory.
  const std::string empty = ::testing::TempDir();
  for (const std::string& cwd : {std::string("/"), empty}) {
    const RunResult r = runTool(corpus("tornado_warning/TOR_emergency.txt"), cwd);
    ASSERT_EQ(r.exit_code, 0) << cwd;
    ASSERT_EQ(r.lines.size(), 2u) << cwd;
    EXPECT_EQ(r.lines[1]["ugc_areas"][1]["name"], "Sedgwick") << cwd;
    EXPECT_EQ(r.lines[1]["office_info"]["city"], "Wichita") << cwd;
  }
}

TEST(ClassifyTool, ActiveStateOfAChainAtAGivenTime) {
  // MWWCAR-16..19, given out of order: fed in issue order. At Feb 3 2015 09:00
  // the gale warning and the heavy freezing spray warning are in effect.
  std::string files;
  for (const char* f : {"MWWCAR-19.txt", "MWWCAR-16.txt", "MWWCAR-17.txt", "MWWCAR-18.txt"}) {
    files += " " + corpus((std::string("marine_weather_message/") + f).c_str());
  }
  const RunResult r = runTool("--active --at 2015-02-03T09:00Z --ugc ANZ050" + files);
  ASSERT_EQ(r.exit_code, 0);
  std::vector<std::string> keys;
  for (const auto& l : r.lines) {
    if (l["event"] == "active") {
      keys.push_back(l["key"]);
      EXPECT_EQ(l["at"], "2015-02-03T09:00:00Z");
      EXPECT_EQ(l["matched_by"], "ugc");
    }
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"KCAR.GL.W.0009.2015", "KCAR.UP.W.0001.2015"}));
  // At the latest product (MWWCAR-19, 11:01): UP.W.1 cancelled, UP.Y.9 new.
  const RunResult latest = runTool("--active" + files);
  keys.clear();
  for (const auto& l : latest.lines) {
    if (l["event"] == "active") keys.push_back(l["key"]);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"KCAR.GL.W.0009.2015", "KCAR.UP.Y.0009.2015"}));
  // One event's lifecycle.
  const RunResult life = runTool("--event KCAR.UP.W.0001.2015" + files);
  ASSERT_EQ(life.exit_code, 0);
  const auto& e = life.lines.back();
  ASSERT_EQ(e["event"], "lifecycle");
  std::vector<std::string> actions;
  for (const auto& h : e["history"]) actions.push_back(h["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"NEW", "CON", "EXT", "CAN"}));
  EXPECT_EQ(e["upgraded_from"], nlohmann::json::array({"KCAR.UP.Y.0008.2015"}));
  // A bad time or point is one line on stderr and exit 2.
  EXPECT_EQ(runTool("--active --at yesterday" + files).exit_code, 2);
  EXPECT_EQ(runTool("--active --point 95,10" + files).exit_code, 2);
  EXPECT_EQ(runTool("--event KCAR.XX.W.0001.2015" + files).exit_code, 2);
}

TEST(ClassifyTool, UnreadableFileExitsTwoButStillPrintsTheOthers) {
  const RunResult r = runTool("/nonexistent/emwin-no-such-file.txt " + corpus("red_flag_warning/RFWSEW.txt"));
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(r.lines.size(), 3u);  // RFWSEW: product + 2 alerts
  EXPECT_EQ(r.lines[2]["event_name"], "Red Flag Warning");
}

TEST(ClassifyTool, MalformedFileStillExitsZero) {
  const RunResult r = runTool(corpus("flood_warning/FLW_badugc.txt"));
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_GE(r.lines.size(), 2u);
  EXPECT_FALSE(r.lines[0]["issues"].empty());
}

}  // namespace
