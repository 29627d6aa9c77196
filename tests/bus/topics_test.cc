#include "bus/topics.h"

#include <gtest/gtest.h>

#include "bus/bus.h"
#include "runtime/names.h"

namespace emwin::bus {
namespace {

struct ExtensionCase {
  const char* filename;
  const char* token;
};

class ExtensionTokenTest : public ::testing::TestWithParam<ExtensionCase> {};

TEST_P(ExtensionTokenTest, MapsFilenameToOneToken) {
  EXPECT_EQ(runtime::extensionToken(GetParam().filename), GetParam().token);
}

INSTANTIATE_TEST_SUITE_P(Table, ExtensionTokenTest,
                         ::testing::Values(ExtensionCase{"ZFPSFOCA.TXT", "TXT"}, ExtensionCase{"a.gif", "GIF"},
                                           ExtensionCase{"NOEXT", "NONE"}, ExtensionCase{"TRAIL.", "NONE"},
                                           ExtensionCase{"X.t-x", "T_X"}, ExtensionCase{"A.B.ZIS", "ZIS"},
                                           ExtensionCase{"", "NONE"}));

TEST(TopicsTest, BuildsDocumentedTopics) {
  EXPECT_EQ(topics::segment("ZFPSFOCA.TXT"), "seg.TXT.ZFPSFOCA.TXT");
  EXPECT_EQ(topics::file("NPSA01US.GIF"), "file.GIF.NPSA01US.GIF");
  EXPECT_EQ(topics::alert("TO", "W", "KDMX"), "alert.TO.W.KDMX");
  EXPECT_EQ(topics::testAlert("TO", "W", "KILX"), "test.alert.TO.W.KILX");
  EXPECT_EQ(topics::stats("ingest", "0"), "stats.ingest.0");
  EXPECT_EQ(topics::serverList("a"), "serverlist.a");
}

TEST(TopicsTest, NoLiveAlertSubscriptionReceivesATest) {
  const std::string test = topics::testAlert("TO", "W", "KILX");
  for (const char* prefix : {"alert.", "alert.TO.", "alert.TO.W.", "alert.TO.W.KILX", "a", ""}) {
    if (std::string_view(prefix).empty()) continue;
    EXPECT_FALSE(topicMatches(test, {prefix})) << prefix;
  }
  EXPECT_TRUE(topicMatches(test, {std::string(topics::kTestAlertPrefix)}));
  EXPECT_EQ(topicFamily(test), "test.");
  EXPECT_EQ(topicFamily(topics::alert("TO", "W", "KDMX")), topics::kAlertPrefix);
}

TEST(TopicsTest, PrefixMatching) {
  EXPECT_TRUE(topicMatches("file.TXT.A.TXT", {}));
  EXPECT_TRUE(topicMatches("file.TXT.A.TXT", {"seg.", "file.TXT."}));
  EXPECT_FALSE(topicMatches("file.GIF.A.GIF", {"seg.", "file.TXT."}));
  EXPECT_FALSE(topicMatches("fil", {"file."}));
}

}  // namespace
}  // namespace emwin::bus
