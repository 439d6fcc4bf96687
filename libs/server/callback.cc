#include "libs/server/callback.h"

#include <algorithm>

#include "libs/status/errors.h"

namespace dvc::server {

BlockingExecutor::BlockingExecutor(int threads, size_t max_queued) : max_queued_(max_queued) {
  const int n = std::max(1, threads);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Run(); });
}

BlockingExecutor::~BlockingExecutor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

bool BlockingExecutor::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || tasks_.size() >= max_queued_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void BlockingExecutor::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and everything queued has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

absl::Status ServerBusy() {
  return status::Unavailable("SERVER_BUSY", "Hệ thống đang bận. Vui lòng thử lại sau.",
                             "The service is busy. Please try again later.");
}

}  // namespace dvc::server
