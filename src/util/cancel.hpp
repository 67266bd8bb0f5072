// Cancellation of one in-flight operation: a flag plus an optional hook that aborts what is
// blocking (an upstream HTTP request). Thread-safe: cancel() may come from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>

namespace dfmcp {

class CancelToken {
public:
  // Sets the flag and runs the current hook, if any (once). The hook runs under the lock, so once
  // clear_hook() returns it is not running and will not run.
  void cancel() {
    std::lock_guard lock(mutex_);
    if (cancelled_.exchange(true))
      return;
    if (hook_)
      hook_();
  }
  bool cancelled() const { return cancelled_.load(); }

  // Installs the hook for the blocking step about to start; returns false (and installs nothing)
  // when the operation is already cancelled, so the caller should not start it.
  bool set_hook(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    if (cancelled_)
      return false;
    hook_ = std::move(hook);
    return true;
  }
  void clear_hook() {
    std::lock_guard lock(mutex_);
    hook_ = nullptr;
  }

private:
  std::mutex mutex_;
  std::atomic<bool> cancelled_{false};
  std::function<void()> hook_;
};

} // namespace dfmcp
