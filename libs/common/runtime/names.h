#pragma once
// Naming helpers shared by every component: a file name's extension as
// sent, the one upper-case extension token used in topics, on disk and for
// format detection, and the default instance name. Pure functions
// (defaultInstance reads the environment); thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace emwin::runtime {

// Extension of a filename without the dot ("TXT" of "ZFPSFOCA.TXT"), "" if
// none. A view into `filename`, in the case it was sent.
std::string_view extensionOf(std::string_view filename) noexcept;

// The extension as one token: a-z upper-cased, [A-Z0-9] kept, anything else
// '_', at most `max_length` characters; "NONE" when there is no extension.
std::string extensionToken(std::string_view filename, std::size_t max_length = 16);

// Default instance name: $EMWIN_INSTANCE, else the host name, else "0".
std::string defaultInstance();

}  // namespace emwin::runtime
