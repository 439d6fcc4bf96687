// A bounded queue of background tasks run by one worker thread (e.g. writing a login-history
// row after the client already has its answer). When full, new tasks are dropped with a
// warning rather than slowing the request path. The destructor runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace dvc::auth {

class BackgroundQueue final {
 public:
  explicit BackgroundQueue(size_t capacity = 10000);
  ~BackgroundQueue();
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;

  // False when the task was dropped (queue full or stopping).
  bool Post(std::function<void()> task);

 private:
  void Run();

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace dvc::auth
