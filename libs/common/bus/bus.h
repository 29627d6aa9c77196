#pragma once
// emwin::bus — the ZeroMQ message bus shared by every process (umbrella header).
//
// A producer publishes through a Publisher (publisher.h), which numbers every
// message and hands it to its two transports:
//   * the TAP (tap_publisher.h; ZeroMQ PUB, default ports 560x): every
//     message, for monitors and custom subscribers in any language; drops at
//     its HWM, drops are gaps in the sequence numbers, counted by subscribers
//     (tap_subscriber.h);
//   * the PIPELINE (pipeline_publisher.h; ZeroMQ ROUTER, ports 561x):
//     reliable, credit-based delivery to consumer groups (pipeline_subscriber.h),
//     with redelivery, replay, restart-safe groups and settlement.
// subscriber.h is a facade choosing either path; subscribe.h runs a
// subscriber on a thread with callbacks or a bounded range-for stream;
// topics.h builds and matches topic names. Services do not write loops of
// their own: libs/common/service runs them on one reactor.
//
// Thread-safety: each class states its own (none is shared between threads
// except the thread-owning types of subscribe.h).

#include "bus/message.h"
#include "bus/publisher.h"
#include "bus/subscriber.h"
#include "bus/topics.h"
