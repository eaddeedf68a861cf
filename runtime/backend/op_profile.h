#pragma once
// Where a step's time goes, op by op: while an OpProfile is open on a thread, every op
// entry that thread runs on the profile's device records its span (GENRT_ON_CUDA declares
// the OpTimer that does it). On the CPU a span is the host clock around the op. On the GPU
// it is two CUDA events on the op's stream around its launches; before the first op the
// profile holds that stream for kHoldNanoseconds (kernels/stream_hold.cuh), so that the
// ops queue up behind the hold and then run back to back: each span is the op's device
// time, and the idle time between one op's end and the next one's start is what the device
// waited for the host even so (a synchronization inside the step, or a host that took
// longer than the hold to launch the rest). What the launches themselves cost is what a
// CUDA graph saves: the bench times steps with and without graphs for that.
//
// For profiling, not for production steps: `genrt bench e2e-decode --op-profile` (and
// e2e-denoise) opens one around a step launched without CUDA graphs. Not timed: work
// recorded into a CUDA graph (a stream capturing), and an op called from inside another
// op's entry (its time is its caller's). Ops of one thread on one stream at a time are
// assumed: spans of concurrent streams would overlap, and a profile is closed on the thread
// that opened it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/device.h"

namespace genrt {

struct OpSpan {
  std::string op;  // the op entry's name (ops::linear is "linear")
  double start_ms = 0.0;  // from the start of the profile's first op
  double end_ms = 0.0;
};

class OpProfile {
 public:
  // How long the GPU's stream is held before the first op: longer than any step's
  // launches take the host (a decode step of a 32-layer model launches ~300 ops, ~2 ms).
  static constexpr uint64_t kHoldNanoseconds = 20'000'000;

  // Opens a profile of the ops that run on `device` on this thread; one at a time. On the
  // GPU it creates its CUDA events here, outside the ops it times.
  explicit OpProfile(Device device);
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // The spans recorded so far, in the order the ops were called; refused while an op is
  // open, and after a CUDA error while timing (its message). On the GPU it waits for the
  // ops' end events.
  std::vector<OpSpan> spans() const;
  // Whether the host launched every op within the stream's hold on the GPU (always true on
  // the CPU): if not, the ops launched after it ran as launched, and their spans include
  // the host's time again.
  bool launched_within_hold() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Declared by an op entry: the span of the rest of the entry, when a profile of `device`
// is open on this thread and no other op's span is open (otherwise nothing). `op` must
// outlive the profile (a literal, or __func__). Never throws because of the profile: a
// CUDA error while timing is kept for OpProfile::spans() and the op runs untimed.
class OpTimer {
 public:
  OpTimer(const char* op, Device device) noexcept;
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile::Impl* profile_ = nullptr;
  uint64_t generation_ = 0;  // of the profile, which may have closed since (then nothing)
  size_t index_ = 0;
};

// The spans summed per op, in the order each op first ran: its calls, its time, its share
// of the profile's wall time (first start to last end) and the idle time before its
// calls; then the totals. As JSON ({"ops": [...], "wall_ms", "busy_ms", "idle_ms"}) for a
// bench line, and as a Markdown table for bench/NOTES.md.
nlohmann::json op_profile_summary(const std::vector<OpSpan>& spans);
std::string op_profile_markdown(const nlohmann::json& summary);

}  // namespace genrt
