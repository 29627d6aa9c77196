// The example subscribers against a real pipeline (sim -> ingest -> assembler
// -> disk-writer + alert-classifier): the Python one on the classifier's tap
// must print exactly the tornado alerts of the products the sim sent; the C++
// one, a consumer group of its own on the assembler's pipeline, every file.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "pipeline_harness.h"
#include "products/classify.h"
#include "products/product.h"

namespace emwin::test {
namespace {

// Tornado (TO) alerts and all alerts the classifier must produce for `dir`.
std::pair<std::size_t, std::size_t> expectedAlerts(const std::string& dir) {
  std::size_t tornado = 0, all = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string text = readFile(entry.path().string());
    auto product = products::parseProduct(text, 1772551056);
    for (const auto& c : products::classify(product)) {
      ++all;
      // Live tornado events only: TORILX is a TEST warning, published on test.alert.TO.W.KILX.
      if (c.phenomenon == "TO" && !c.is_test) ++tornado;
    }
  }
  return {tornado, all};
}

std::size_t lineCount(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

TEST(Subscribers, PythonGetsExactlyTheTornadoAlertsAndCppGetsEveryFile) {
  PipelineConfig c;
  c.products = std::string(EMWIN_CORPUS_DIR) + "/products/tornado_warning";
  c.classifier = true;
  c.extra_consumers = 1;  // the C++ example's own group
  auto [tornado, all] = expectedAlerts(c.products);
  ASSERT_GT(tornado, 5u);
  ASSERT_GT(all, tornado);  // the directory also holds non-tornado events (e.g. cancellations of SV)

  Pipeline p(c);
  p.startConsumers();
  Process py(ProcessSpec{EMWIN_PYTHON3,
                         {std::string(EMWIN_SOURCE_DIR) + "/examples/subscribers/python/subscriber.py", "--connect",
                          p.classifierTap(), "--topic", "alert.TO.", "--timeout", "300"},
                         {{"XDG_CACHE_HOME", makeTempDir("emwin-pycache")}, {"EMWIN_PY_GEN", ""}},
                         {},
                         p.dir(),
                         "subscriber-py"});
  // The classifier's stats reaching the script prove its subscription is live before data flows.
  ASSERT_TRUE(py.waitForLine(std::regex("receiving from alert-classifier"), 60s * kSlow, Stream::kStderr))
      << py.text(Stream::kStderr);
  Process cpp(ProcessSpec{binaryPath("examples/subscribers/cpp/emwin-example-subscriber"),
                          {"--connect", p.assemblerPipe(), "--topic", "file."},
                          {},
                          {},
                          p.dir(),
                          "subscriber-cpp"});
  p.startFeed();

  ASSERT_TRUE(p.waitSimDone(60s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow)) << p.logs();
  // Every alert of every product is in the classifier's log once it is done.
  ASSERT_TRUE(waitUntil([&] { return lineCount(p.dir() + "/alerts.jsonl") >= all; }, 30s * kSlow))
      << lineCount(p.dir() + "/alerts.jsonl") << " of " << all << "\n"
      << p.logs();
  EXPECT_EQ(lineCount(p.dir() + "/alerts.jsonl"), all);

  // Python: exactly the tornado alerts, nothing else.
  ASSERT_TRUE(waitUntil([&] { return py.countLines(std::regex("^alert\\.")) >= tornado; }, 30s * kSlow))
      << py.text();
  EXPECT_EQ(py.countLines(std::regex("^alert\\.TO\\.[A-Z]\\.[A-Z]{4} .*Alert event=\"Tornado ")), tornado) << py.text();
  EXPECT_EQ(py.countLines(std::regex("^alert\\.")), tornado) << py.text();
  EXPECT_EQ(py.countLines(std::regex(".")), tornado) << py.text();

  // C++: every distinct file the sim sent, with the same bytes (sha256), once.
  ASSERT_TRUE(waitUntil([&] { return cpp.countLines(std::regex("^file ")) >= sent.distinct.size(); }, 30s * kSlow))
      << cpp.text() << cpp.text(Stream::kStderr);
  std::set<std::pair<std::string, std::string>> got;
  for (const auto& line : cpp.lines()) {
    std::istringstream in(line);
    std::string word, name, size, sha;
    in >> word >> name >> size >> sha;
    EXPECT_TRUE(got.insert({name, sha}).second) << "printed twice: " << line;
  }
  EXPECT_EQ(got, sent.distinct);
  cpp.signal(SIGINT);
  EXPECT_EQ(cpp.waitExit(10s), 0);
  py.signal(SIGINT);
  py.waitExit(10s);
}

}  // namespace emwin::test
