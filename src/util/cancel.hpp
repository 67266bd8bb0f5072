// Cancellation of one in-flight operation: a flag plus an optional hook that aborts what is
// blocking (an upstream HTTP request). Two strengths: cancel() is the client's "never mind",
// which aborts waiting for a read but lets a write already sent finish (so its outcome is known);
// abort() is shutdown, which stops everything. Thread-safe; hooks must not block.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>

namespace dfmcp {

class CancelToken {
public:
  // The hook gets `hard`: false for cancel(), true for abort().
  using Hook = std::function<void(bool hard)>;

  void cancel() { fire(false); }
  void abort() { fire(true); }
  bool cancelled() const { return cancelled_.load(); }
  bool aborted() const { return aborted_.load(); }

  // Installs the hook for the blocking step about to start; returns false (and installs nothing)
  // when the operation is already cancelled, so the caller should not start it.
  bool set_hook(Hook hook) {
    std::lock_guard lock(mutex_);
    if (cancelled_)
      return false;
    hook_ = std::move(hook);
    return true;
  }
  // Once this returns, the hook is not running and will not run.
  void clear_hook() {
    std::lock_guard lock(mutex_);
    hook_ = nullptr;
  }

private:
  void fire(bool hard) {
    std::lock_guard lock(mutex_);
    bool was_cancelled = cancelled_.exchange(true);
    bool was_aborted = hard ? aborted_.exchange(true) : aborted_.load();
    if ((was_cancelled && !hard) || was_aborted)
      return;
    if (hook_)
      hook_(hard);
  }

  std::mutex mutex_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> aborted_{false};
  Hook hook_;
};

} // namespace dfmcp
