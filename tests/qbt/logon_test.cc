// Server-side logon parsing (qbt/logon.h): the logons real clients send
// (emwin-ingest's encodeLogon, the seed's Python client, legacy ones without a
// version suffix), split at every byte, several per read, with junk around
// them, and hostile input that must stay bounded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qbt/encoder.h"
#include "qbt/logon.h"

namespace emwin::qbt {
namespace {

std::vector<std::uint8_t> wire(std::string_view text) {
  std::vector<std::uint8_t> out(text.begin(), text.end());
  xorInPlace(out);
  return out;
}

std::vector<Logon> feedAll(LogonParser& parser, const std::vector<std::uint8_t>& bytes, std::size_t chunk) {
  std::vector<Logon> out;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    const std::size_t n = std::min(chunk, bytes.size() - at);
    parser.feed(std::span<const std::uint8_t>(bytes.data() + at, n), out);
  }
  return out;
}

TEST(LogonParser, ReadsTheEncodersLogonInAnyChunking) {
  for (const Version v : {Version::kV1, Version::kV2}) {
    const auto bytes = encodeLogon("  someone@example.org ", v);
    for (std::size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
      LogonParser parser;
      const auto logons = feedAll(parser, bytes, chunk);
      ASSERT_EQ(logons.size(), 1u) << "chunk " << chunk;
      EXPECT_EQ(logons[0].email, "someone@example.org");
      EXPECT_EQ(logons[0].version, v);
      EXPECT_TRUE(logons[0].has_version);
      EXPECT_TRUE(logons[0].valid());
      EXPECT_EQ(logons[0].text, v == Version::kV2 ? "ByteBlast Client|NM-someone@example.org|V2"
                                                  : "ByteBlast Client|NM-someone@example.org|V1");
      EXPECT_FALSE(parser.pending());
      EXPECT_EQ(parser.junkBytes(), 0u);
    }
  }
}

TEST(LogonParser, SeveralLogonsInOneReadAndJunkAroundThemIsCounted) {
  LogonParser parser;
  std::vector<Logon> out;
  parser.feed(wire("xyzByteBlast Client|NM-a@b|V2ByteBlast Client|NM-a@b|V2!!"), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].email, "a@b");
  // "xyz" before the first; "!!" is held (it could begin a marker) until more arrives.
  EXPECT_EQ(parser.junkBytes(), 3u);
  parser.feed(wire("more junk without a marker at all, long enough to pass the marker length"), out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_GT(parser.junkBytes(), 50u);
  EXPECT_FALSE(parser.pending());
}

TEST(LogonParser, ALogonWithoutSuffixEndsAtTheNextLogonOrWhenFlushed) {
  LogonParser parser;
  std::vector<Logon> out;
  parser.feed(wire("ByteBlast Client|NM-old@example.org"), out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(parser.pending());
  parser.feed(wire("ByteBlast Client|NM-old@example.org"), out);  // the re-logon 115 s later
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].email, "old@example.org");
  EXPECT_EQ(out[0].version, Version::kV1);
  EXPECT_FALSE(out[0].has_version);
  const auto flushed = parser.flush();
  ASSERT_TRUE(flushed.has_value());
  EXPECT_EQ(flushed->email, "old@example.org");
  EXPECT_FALSE(parser.pending());
  EXPECT_FALSE(parser.flush().has_value());
}

TEST(LogonParser, LogonsThatNameNobodyAreReportedInvalid) {
  for (const char* text : {"ByteBlast Client|NM-|V2", "ByteBlast Client|NM-   |V1", "ByteBlast Client|V2",
                           "ByteBlast Client|XX-a@b|V2"}) {
    LogonParser parser;
    std::vector<Logon> out;
    parser.feed(wire(text), out);
    ASSERT_EQ(out.size(), 1u) << text;
    EXPECT_FALSE(out[0].valid()) << text;
  }
}

TEST(LogonParser, AnOverlongLogonIsDroppedAsJunkAndMemoryStaysBounded) {
  LogonParser parser;
  std::vector<Logon> out;
  const std::string huge = "ByteBlast Client|NM-" + std::string(100 * 1024, 'a');
  const auto bytes = wire(huge);
  out = feedAll(parser, bytes, 4096);
  EXPECT_TRUE(out.empty());
  EXPECT_GE(parser.junkBytes(), 100u * 1024 - LogonParser::kMaxLogonBytes - 4096);
  // Still works afterwards.
  parser.feed(encodeLogon("c@d", Version::kV2), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].email, "c@d");
  EXPECT_EQ(out[0].version, Version::kV2);
}

TEST(ParseLogon, FieldsOfTheSpecExample) {
  const Logon l = parseLogon("ByteBlast Client|NM-user@example.com|V2");
  EXPECT_EQ(l.email, "user@example.com");
  EXPECT_EQ(l.version, Version::kV2);
  EXPECT_TRUE(l.has_version);
}

}  // namespace
}  // namespace emwin::qbt
