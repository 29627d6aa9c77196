#pragma once
// Topic names of the emwin-bus, built and matched in one place. Topics are
// dotted ASCII and prefix-filterable; see README "Bus topics". Thread-safe (pure).

#include <string>
#include <string_view>
#include <vector>

namespace emwin::bus {

// The family of a topic: the text up to and including its first '.'
// ("seg.TXT.A.TXT" -> "seg."), or the whole topic if it has no '.'.
std::string_view topicFamily(std::string_view topic) noexcept;

// True if `topic` starts with one of `prefixes` (or prefixes is empty).
bool topicMatches(std::string_view topic, const std::vector<std::string>& prefixes) noexcept;

namespace topics {

// "seg.<EXT>.<FILENAME>", e.g. "seg.TXT.ZFPSFOCA.TXT"; EXT is runtime::extensionToken() ("NONE" if absent).
std::string segment(std::string_view filename);
// "file.<EXT>.<FILENAME>".
std::string file(std::string_view filename);
// "alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>", e.g. "alert.TO.W.KDMX".
std::string alert(std::string_view phenomenon, std::string_view significance, std::string_view office);
// "test.alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>": a test message (VTEC class
// T, a TEST...TEST product, RWT/RMT/DMO). Its own family, so no subscription to
// "alert." (or any prefix of a live alert topic) can receive it.
std::string testAlert(std::string_view phenomenon, std::string_view significance, std::string_view office);
inline constexpr std::string_view kAlertPrefix = "alert.";
inline constexpr std::string_view kTestAlertPrefix = "test.alert.";
// "stats.<service>.<instance>".
std::string stats(std::string_view service, std::string_view instance);
// "serverlist.<instance>".
std::string serverList(std::string_view instance);
inline constexpr std::string_view kStatsSummary = "stats.summary";

}  // namespace topics
}  // namespace emwin::bus
