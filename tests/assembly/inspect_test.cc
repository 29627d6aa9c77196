// Runs the built emwin-inspect on the live capture: summary counts, one line
// per segment, --chunk 7 output identical to the default, exit 2 on a missing file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string>

namespace {

struct RunResult {
  std::string out;
  int status = -1;
};

RunResult run(const std::string& args) {
  const std::string cmd = std::string(EMWIN_BINARY_DIR "/tools/inspect/emwin-inspect ") + args + " 2>/dev/null";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

const std::string kCapture = EMWIN_CORPUS_DIR "/live/stream0-20260303.bin";

TEST(InspectTest, LiveCaptureSummaryAndEvents) {
  const RunResult r = run(kCapture);
  ASSERT_EQ(r.status, 0);
  std::istringstream lines(r.out);
  std::string line;
  nlohmann::json last;
  std::size_t segments = 0, files_from_blocks = 0, entries = 0, partials = 0;
  while (std::getline(lines, line)) {
    last = nlohmann::json::parse(line);
    const std::string ev = last["event"];
    if (ev == "segment") {
      ++segments;
      EXPECT_TRUE(last["checksum_ok"].get<bool>());
      const int v = last["version"];
      const int len = last["length"];
      if (v == 1) {
        EXPECT_EQ(len, 1024);
      } else {
        EXPECT_TRUE(len >= 1 && len <= 1024) << line;
      }
    } else if (ev == "file") {
      (last["origin"] == "blocks" ? files_from_blocks : entries)++;
      EXPECT_EQ(last["fd"].get<std::string>().size(), 20u) << line;  // 2026-03-03T15:17:36Z
      if (last["name"] == "NPSA01US.GIF") {
        EXPECT_EQ(last["size"], 318522);
        EXPECT_EQ(last["archive"]["name"], "NPSA01US.ZIP");
      }
    } else if (ev == "partial") {
      ++partials;
      EXPECT_EQ(last["name"], "G10CIRUS.ZIP");
      EXPECT_EQ(last["blocks_held"], 135);
      EXPECT_EQ(last["total"], 375);
    }
  }
  ASSERT_EQ(last["event"], "summary");
  EXPECT_EQ(segments, 500u);
  EXPECT_EQ(files_from_blocks, 28u);
  EXPECT_EQ(partials, 1u);
  EXPECT_EQ(last["segments"], 500);
  EXPECT_EQ(last["frames_v1"], 451);
  EXPECT_EQ(last["frames_v2"], 49);
  EXPECT_EQ(last["bytes"], 519172);
  EXPECT_EQ(last["files"], files_from_blocks + entries);
  EXPECT_EQ(last["archive_entries"], entries);
  EXPECT_EQ(last["partials"], 1);
  EXPECT_TRUE(last["bad_frames"].empty());
}

TEST(InspectTest, ChunkSevenEqualsDefault) {
  const RunResult a = run(kCapture);
  const RunResult b = run("--chunk 7 " + kCapture);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(b.status, 0);
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
}

TEST(InspectTest, NoAssemblyPrintsSegmentsOnly) {
  const RunResult r = run("--no-assembly " + kCapture);
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out.find("\"event\":\"file\""), std::string::npos);
  EXPECT_NE(r.out.find("\"event\":\"segment\""), std::string::npos);
  EXPECT_NE(r.out.find("\"event\":\"summary\""), std::string::npos);
}

TEST(InspectTest, UnreadableFileExitsTwo) {
  EXPECT_EQ(run(EMWIN_BINARY_DIR "/no/such/capture.bin").status, 2);
}

}  // namespace
