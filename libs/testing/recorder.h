// The bookkeeping the methods of the services' test fakes share: the requests each received (in
// order) and the answers a test scripted for its next calls. Thread-safe on its own, so a fake's
// test-facing accessors are one-line forwards that need no lock of the fake's.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvc::testing {

// `Request` is what a call records (std::monostate: only that it happened); `Response` is what a
// scripted answer may carry besides an error (std::monostate: errors only).
template <typename Request = std::monostate, typename Response = std::monostate>
class Recorder {
 public:
  // Records a call; the error scripted for it (OK when none: the fake answers normally).
  absl::Status Call(Request request = {}) {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(std::move(request));
    return PopLocked().status();
  }
  // Records a call; the answer scripted for it, or nullopt when none.
  std::optional<absl::StatusOr<Response>> CallScripted(Request request) {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(std::move(request));
    if (scripted_.empty()) return std::nullopt;
    return PopLocked();
  }
  // For a fake that fails only part-way through a call: Record first, NextError where it fails.
  void Record(Request request) {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(std::move(request));
  }
  absl::Status NextError() {
    std::lock_guard<std::mutex> l(mu_);
    return PopLocked().status();
  }

  // Scripts the answer of the next call that has none yet: an error, or (with a Response) a
  // full answer.
  void Push(absl::StatusOr<Response> answer) {
    std::lock_guard<std::mutex> l(mu_);
    scripted_.push_back(std::move(answer));
  }

  int calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(requests_.size());
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  // The last request (Request{} before the first call).
  Request last() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_.empty() ? Request{} : requests_.back();
  }

 private:
  absl::StatusOr<Response> PopLocked() {
    if (scripted_.empty()) return Response{};
    absl::StatusOr<Response> r = std::move(scripted_.front());
    scripted_.pop_front();
    return r;
  }

  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::deque<absl::StatusOr<Response>> scripted_;
};

}  // namespace dvc::testing
