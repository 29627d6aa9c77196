#pragma once
// Process stop signal: SIGINT/SIGTERM set a flag and make an eventfd
// readable, so poll loops (zmq::poll with a raw fd item, ::poll) and Asio
// (asio::posix::stream_descriptor on a dup of stopFd()) wake up at once.
//   emwin::runtime::installStopSignals();
//   while (!emwin::runtime::stopRequested()) { ... poll(..., stopFd()) ... }
// Thread-safety: all functions are safe from any thread; the handler only
// does async-signal-safe work (atomic store + write()).

namespace emwin::runtime {

// Installs the SIGINT and SIGTERM handlers (idempotent). Throws
// std::system_error if the eventfd cannot be created.
void installStopSignals();

// True once a stop signal arrived or requestStop() was called.
bool stopRequested() noexcept;

// Requests a stop as if a signal had arrived (e.g. from a test or a fatal error).
void requestStop() noexcept;

// Readable (POLLIN) once a stop was requested; stays readable. -1 before
// installStopSignals().
int stopFd() noexcept;

}  // namespace emwin::runtime
