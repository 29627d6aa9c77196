#pragma once
// The one Asio of the service runtime: Boost.Asio (Debian libboost1.81-dev),
// because Boost.Beast (HTTP, WebSocket) runs on it and every process has one
// reactor. Code in namespace emwin writes asio::io_context, asio::ip::tcp,
// asio::error_code ... and gets Boost's. Thread-safety: as Boost.Asio.

#include <boost/asio.hpp>

namespace emwin::asio {
using namespace boost::asio;  // NOLINT(google-build-using-namespace): an alias that can also add names
using error_code = boost::system::error_code;
}  // namespace emwin::asio
