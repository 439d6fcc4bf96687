#include "services/auth/adapters/background_queue.h"

#include "libs/logging/log.h"

namespace dvc::auth {

BackgroundQueue::BackgroundQueue(size_t capacity)
    : capacity_(capacity), worker_([this] { Run(); }) {}

BackgroundQueue::~BackgroundQueue() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

bool BackgroundQueue::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || tasks_.size() >= capacity_) {
      log::Warn("background_queue.dropped");
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void BackgroundQueue::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace dvc::auth
