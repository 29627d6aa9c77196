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

RunResult runTool(const std::string& args) {
  const std::string cmd = std::string(EMWIN_BINARY_DIR) + "/tools/classify/emwin-classify " + args + " 2>/dev/null";
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
