// Spec vectors of the QBT protocol: header example, checksum examples, /FD
// AM/PM rules, logon bytes, and a table of malformed headers with their reasons.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "qbt_test_util.h"
#include "runtime/sha256.h"

namespace emwin::qbt {
namespace {

using testing::Recorder;

std::vector<std::uint8_t> asBytes(std::string_view s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

// Builds a wire V1 frame from header text (padded to 78 + CR LF) and a block.
std::vector<std::uint8_t> rawFrame(std::string header, const std::vector<std::uint8_t>& block,
                                   bool crlf = true) {
  header.resize(78, ' ');
  header += crlf ? "\r\n" : "  ";
  std::string text(6, '\0');
  text += header;
  text.append(block.begin(), block.end());
  text.append(6, '\0');
  std::vector<std::uint8_t> out(text.begin(), text.end());
  xorInPlace(out);
  return out;
}

TEST(QbtSpecTest, HeaderExampleParses) {
  // A block summing to 63366: 248 x 0xFF (63240) + 126.
  std::vector<std::uint8_t> block(1024, 0);
  for (int i = 0; i < 248; ++i) block[i] = 0xFF;
  block[248] = 126;
  ASSERT_EQ(blockChecksum(block), 63366u);
  Recorder rec;
  Decoder d(rec);
  const auto wire =
      rawFrame("/PFZFPSFOCA.TXT/PN3     /PT5     /CS63366  /FD5/19/2016 5:24:26 PM", block);
  d.feed(wire);
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_TRUE(rec.bad.empty());
  const Segment& s = rec.segments[0];
  EXPECT_EQ(s.filename, "ZFPSFOCA.TXT");
  EXPECT_EQ(s.extension(), "TXT");
  EXPECT_EQ(s.block_number, 3u);
  EXPECT_EQ(s.total_blocks, 5u);
  EXPECT_EQ(s.declared_checksum, 63366u);
  EXPECT_EQ(s.fd_text, "5/19/2016 5:24:26 PM");
  EXPECT_EQ(s.fd_unix_s, 1463678666);  // 2016-05-19T17:24:26Z
  EXPECT_EQ(s.version, Version::kV1);
  EXPECT_EQ(s.stream_offset, 6u);
  EXPECT_FALSE(s.is_fill);
  EXPECT_EQ(std::vector<std::uint8_t>(s.data.begin(), s.data.end()), block);
  EXPECT_EQ(d.stats().frames_v1, 1u);
}

TEST(QbtSpecTest, ChecksumExamples) {
  std::vector<std::uint8_t> block(1024, 0);
  block[0] = 'A';
  block[1] = 'c';
  block[2] = 'B';
  EXPECT_EQ(blockChecksum(block), 230u);
  block[0] = 0xFF;
  block[1] = 0xB4;
  block[2] = 0x42;
  EXPECT_EQ(blockChecksum(block), 501u);
  EXPECT_EQ(blockChecksum(std::vector<std::uint8_t>(1024, 0xFF)), 261120u);
}

TEST(QbtSpecTest, ChecksumComparedOnLow16Bits) {
  std::vector<std::uint8_t> block(1024, 0xFF);  // sums to 261120 = 0x3FC00
  for (const std::uint32_t cs : {261120u, 261120u & 0xFFFFu, 261120u + 65536u}) {
    Recorder rec;
    Decoder d(rec);
    d.feed(rawFrame("/PFA.TXT/PN1/PT1/CS" + std::to_string(cs) + "/FD1/1/2020 1:00:00 AM", block));
    d.finish();
    EXPECT_EQ(rec.segments.size(), 1u) << cs;
    EXPECT_TRUE(rec.bad.empty()) << cs;
  }
}

TEST(QbtSpecTest, FdAmPmRules) {
  std::int64_t t = 0;
  ASSERT_TRUE(parseFd("1/2/2016 12:00:01 AM", t));
  EXPECT_EQ(t, 1451692801);  // 2016-01-02T00:00:01Z
  ASSERT_TRUE(parseFd("1/2/2016 12:00:01 PM", t));
  EXPECT_EQ(t, 1451736001);  // 2016-01-02T12:00:01Z
  ASSERT_TRUE(parseFd("03/03/2026 03:17:36 PM", t));  // leading zeros, real capture
  EXPECT_EQ(t, 1772551056);
  ASSERT_TRUE(parseFd("2/29/2024 11:59:59 PM", t));
  EXPECT_EQ(t, 1709251199);
  EXPECT_EQ(formatFd(1451692801), "1/2/2016 12:00:01 AM");
  EXPECT_EQ(formatFd(1451736001), "1/2/2016 12:00:01 PM");
  EXPECT_EQ(formatFd(1463678666), "5/19/2016 5:24:26 PM");
  for (const char* bad : {"", "1/2/2016", "13/1/2016 1:00:00 AM", "2/30/2016 1:00:00 AM",
                          "1/2/2016 0:00:01 AM", "1/2/2016 13:00:01 PM", "1/2/2016 1:60:00 AM",
                          "1/2/2016 1:00:60 AM", "1/2/16 1:00:00 AM", "1/2/2016 1:00:00 XM",
                          "1/2/2016 1:00:00 AMX", "1/2/2016 1:00:00", "a/2/2016 1:00:00 AM"}) {
    EXPECT_FALSE(parseFd(bad, t)) << bad;
  }
}

TEST(QbtSpecTest, FdFormatParseRoundTrip) {
  for (std::int64_t t = 0; t < 4102444800; t += 7777777 + 13) {
    std::int64_t back = -1;
    ASSERT_TRUE(parseFd(formatFd(t), back)) << formatFd(t);
    EXPECT_EQ(back, t);
    back = -1;
    ASSERT_TRUE(parseFd(formatFd(t, true), back)) << formatFd(t, true);
    EXPECT_EQ(back, t);
  }
  EXPECT_EQ(formatFd(1796170280, true), "12/02/2026 12:11:20 AM");  // npemwin's form
  EXPECT_EQ(formatFd(1463678666, true), "05/19/2016 05:24:26 PM");
}

TEST(QbtSpecTest, LogonBytes) {
  const std::vector<std::uint8_t> expected = {
      0xBD, 0x86, 0x8B, 0x9A, 0xBD, 0x93, 0x9E, 0x8C, 0x8B, 0xDF, 0xBC, 0x93, 0x96, 0x9A,
      0x91, 0x8B, 0x83, 0xB1, 0xB2, 0xD2, 0x9E, 0xBF, 0x9D, 0xD1, 0x9C, 0x83, 0xA9, 0xCD};
  EXPECT_EQ(encodeLogon("  a@b.c \t", Version::kV2), expected);
  auto v1 = encodeLogon("a@b.c", Version::kV1);
  xorInPlace(v1);
  EXPECT_EQ(std::string(v1.begin(), v1.end()), "ByteBlast Client|NM-a@b.c|V1");
}

TEST(QbtSpecTest, ReasonNamesAreStable) {
  EXPECT_EQ(reasonName(BadReason::kBadHeader), "bad_header");
  EXPECT_EQ(reasonName(BadReason::kChecksum), "checksum");
  EXPECT_EQ(reasonName(BadReason::kInflate), "inflate");
  EXPECT_EQ(reasonName(BadReason::kBlockRange), "block_range");
  EXPECT_EQ(reasonName(BadReason::kBadLength), "bad_length");
  EXPECT_EQ(reasonName(BadReason::kGarbage), "garbage");
  EXPECT_EQ(reasonName(BadReason::kServerListTooLong), "server_list_too_long");
  EXPECT_EQ(reasonName(BadReason::kTruncated), "truncated");
}

TEST(QbtSpecTest, FillFileIsFlagged) {
  Recorder rec;
  Decoder d(rec);
  d.feed(rawFrame("/PFFILLFILE.TXT/PN1/PT1/CS0/FD1/1/2020 1:00:00 AM",
                  std::vector<std::uint8_t>(1024, 0)));
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_TRUE(rec.segments[0].is_fill);
  EXPECT_EQ(d.stats().fill_frames, 1u);
}

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(runtime::sha256Hex(std::string_view("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(runtime::sha256Hex(std::string_view("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::vector<std::uint8_t> abc = asBytes("abc");
  EXPECT_EQ(runtime::sha256Hex(std::span<const std::uint8_t>(abc)),
            runtime::sha256Hex(std::string_view("abc")));
}

// ---- Malformed header table ----

struct MalformedCase {
  const char* name;
  std::string header;  // without CR LF; padded to 78
  BadReason reason;
  bool crlf = true;
};

class MalformedHeaderTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedHeaderTest, ReportsExactReasonAndResyncs) {
  const MalformedCase& c = GetParam();
  const std::vector<std::uint8_t> zeros(1024, 0);
  auto wire = rawFrame(c.header, zeros, c.crlf);
  const auto good = rawFrame("/PFGOOD.TXT/PN1/PT1/CS0/FD1/1/2020 1:00:00 AM", zeros);
  wire.insert(wire.end(), good.begin(), good.end());
  Recorder rec;
  Decoder d(rec);
  d.feed(wire);
  d.finish();
  ASSERT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].reason, c.reason) << reasonName(rec.bad[0].reason);
  EXPECT_EQ(rec.bad[0].stream_offset, 6u);
  EXPECT_EQ(d.stats().bad[static_cast<std::size_t>(c.reason)], 1u);
  ASSERT_EQ(rec.segments.size(), 1u);  // the following frame survives
  EXPECT_EQ(rec.segments[0].filename, "GOOD.TXT");
}

const std::string kFd = "/FD1/1/2020 1:00:00 AM";

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedHeaderTest,
    ::testing::Values(
        MalformedCase{"EmptyName", "/PF/PN1/PT1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"NameWithControl", "/PFA\x01.TXT/PN1/PT1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"FieldsOutOfOrder", "/PFA.TXT/PT1/PN1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"PnNotNumber", "/PFA.TXT/PNx/PT1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"PnSpacesButNoValue", "/PFA.TXT/PN   /PT1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"PnTwoNumbers", "/PFA.TXT/PN1 2/PT1/CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"PtMissing", "/PFA.TXT/PN1 /CS0" + kFd, BadReason::kBadHeader},
        MalformedCase{"CsMissing", "/PFA.TXT/PN1/PT1" + kFd, BadReason::kBadHeader},
        MalformedCase{"CsTooBig", "/PFA.TXT/PN1/PT1/CS5000000000" + kFd, BadReason::kBadHeader},
        MalformedCase{"PtElevenDigits", "/PFA.TXT/PN1/PT10000000000/CS0" + kFd,
                      BadReason::kBadHeader},
        MalformedCase{"FdMissing", "/PFA.TXT/PN1/PT1/CS0", BadReason::kBadHeader},
        MalformedCase{"FdMonth13", "/PFA.TXT/PN1/PT1/CS0/FD13/1/2020 1:00:00 AM",
                      BadReason::kBadHeader},
        MalformedCase{"FdFeb30", "/PFA.TXT/PN1/PT1/CS0/FD2/30/2020 1:00:00 AM",
                      BadReason::kBadHeader},
        MalformedCase{"FdHour13", "/PFA.TXT/PN1/PT1/CS0/FD1/1/2020 13:00:00 PM",
                      BadReason::kBadHeader},
        MalformedCase{"FdNoAmPm", "/PFA.TXT/PN1/PT1/CS0/FD1/1/2020 1:00:00", BadReason::kBadHeader},
        MalformedCase{"FdLetters", "/PFA.TXT/PN1/PT1/CS0/FDJan 1 2020 1:00:00 AM",
                      BadReason::kBadHeader},
        MalformedCase{"TrailingJunk", "/PFA.TXT/PN1/PT1/CS0" + kFd + " XYZ", BadReason::kBadHeader},
        MalformedCase{"DlNotNumber", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DLabc",
                      BadReason::kBadHeader},
        MalformedCase{"NoCrLf", "/PFA.TXT/PN1/PT1/CS0" + kFd, BadReason::kBadHeader, false},
        MalformedCase{"PnZero", "/PFA.TXT/PN0/PT1/CS0" + kFd, BadReason::kBlockRange},
        MalformedCase{"PtZero", "/PFA.TXT/PN1/PT0/CS0" + kFd, BadReason::kBlockRange},
        MalformedCase{"PnAbovePt", "/PFA.TXT/PN3/PT2/CS0" + kFd, BadReason::kBlockRange},
        MalformedCase{"PtAbove32Bits", "/PFA.TXT/PN1/PT5000000000/CS0" + kFd,
                      BadReason::kBlockRange},
        MalformedCase{"DlZero", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL0", BadReason::kBadLength},
        MalformedCase{"Dl1025", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL1025", BadReason::kBadLength},
        MalformedCase{"DlBillion", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL1000000000",
                      BadReason::kBadLength},
        MalformedCase{"DlElevenDigits", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL99999999999",
                      BadReason::kBadLength},
        MalformedCase{"DlThirtyDigits", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL" + std::string(30, '9'),
                      BadReason::kBadLength},
        MalformedCase{"ChecksumWrong", "/PFA.TXT/PN1/PT1/CS1" + kFd, BadReason::kChecksum},
        MalformedCase{"NotZlib", "/PFA.TXT/PN1/PT1/CS0" + kFd + " /DL1024", BadReason::kInflate}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

}  // namespace
}  // namespace emwin::qbt
