// Resilience for calls to external providers: a per-attempt timeout, retries with jittered
// exponential backoff (idempotent calls only, retryable failures only) inside an overall time
// budget, and a circuit breaker per provider. Time, sleeping and randomness are injected so the
// whole policy is unit-tested with a fake clock.
//
// The attempt function receives the time it may take and reports its outcome through the status
// it returns (the convention every provider adapter follows):
//   OK                  the provider answered
//   UNAVAILABLE         connection refused/reset, 5xx: retryable, counts against the breaker
//   DEADLINE_EXCEEDED   the attempt timed out: retryable, counts against the breaker
//   INTERNAL            the provider answered nonsense (already logged by the adapter)
//   anything else       the provider rejected the request (4xx), a domain error passed through
// Only UNAVAILABLE and DEADLINE_EXCEEDED are provider failures for the breaker: a provider that
// answers, even with an error, is up. When the retries, the budget or the breaker stop the call,
// it fails with UNAVAILABLE, reason IDV_PROVIDER_UNAVAILABLE (retryable by the client).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"

namespace dvc::idv {

inline constexpr char kReasonProviderUnavailable[] = "IDV_PROVIDER_UNAVAILABLE";

// Waiting between attempts; tests advance a FakeClock instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void Sleep(absl::Duration d) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void Sleep(absl::Duration d) override { absl::SleepFor(d); }
};

enum class BreakerState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
const char* BreakerStateName(BreakerState s);

struct BreakerOptions {
  int failure_threshold = 5;                   // consecutive failures that open the breaker
  absl::Duration open_for = absl::Seconds(30);  // then half-open: one trial call
};

// Closed → (threshold consecutive failures) → open → (open_for elapsed) → half-open, where one
// trial call is let through: success closes, failure re-opens for another open_for. Thread-safe.
class CircuitBreaker final {
 public:
  CircuitBreaker(BreakerOptions options, Clock* clock,
                 std::function<void(BreakerState)> on_change = nullptr);

  // True when a call may go to the provider now. In half-open state exactly one caller gets
  // true (the trial) until it reports back.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  // The state now (an open breaker whose time is up reports half-open).
  BreakerState state();
  // How long an open breaker stays open from now (zero unless open).
  absl::Duration RemainingOpen();

 private:
  void SetState(BreakerState s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BreakerOptions options_;
  Clock* const clock_;
  const std::function<void(BreakerState)> on_change_;
  absl::Mutex mu_;
  BreakerState state_ ABSL_GUARDED_BY(mu_) = BreakerState::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_);
  bool trial_in_flight_ ABSL_GUARDED_BY(mu_) = false;
};

struct RetryOptions {
  absl::Duration attempt_timeout = absl::Seconds(3);  // --provider_timeout
  int max_retries = 2;                                // --provider_retries
  absl::Duration budget = absl::Seconds(8);           // --provider_budget
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(1);
  // No attempt is started with less time than this left in the budget.
  absl::Duration min_attempt = absl::Milliseconds(50);
};

// What one attempt came to; the label value of idv_provider_calls_total{outcome}.
enum class Outcome { kOk, kRejected, kError, kUnavailable, kTimeout, kBreakerOpen };
const char* OutcomeName(Outcome o);
Outcome ClassifyAttempt(const absl::Status& s);

struct Attempt {
  int number = 0;  // 1-based
  Outcome outcome = Outcome::kOk;
  absl::Time at;           // when it started
  absl::Duration latency;  // zero for kBreakerOpen (no call was made)
};

// Observes every attempt and breaker transition (metrics).
class CallListener {
 public:
  virtual ~CallListener() = default;
  virtual void OnAttempt(const std::string& provider, const Attempt& a) = 0;
  virtual void OnBreakerState(const std::string& provider, BreakerState s) = 0;
};

struct ProviderInfo {
  std::string name;     // metrics/audit label, e.g. "telco"
  std::string name_vi;  // for user messages, e.g. "nhà mạng"
  std::string name_en;  // e.g. "the mobile carrier"
};

struct CallSpec {
  bool idempotent = false;
  // The caller's own deadline (e.g. the incoming RPC's); the budget never extends past it.
  absl::Time deadline = absl::InfiniteFuture();
};

// One per provider: owns that provider's breaker.
class ResilientCaller final {
 public:
  ResilientCaller(ProviderInfo provider, RetryOptions retry, BreakerOptions breaker,
                  Clock* clock, Sleeper* sleeper, crypto::Random* random,
                  CallListener* listener = nullptr);

  // Runs `attempt(timeout)` under the policy. Every attempt (including one refused by an open
  // breaker) is appended to `attempts` when non-null and reported to the listener.
  absl::Status Run(const CallSpec& spec,
                   const std::function<absl::Status(absl::Duration timeout)>& attempt,
                   std::vector<Attempt>* attempts = nullptr);

  // Typed convenience over Run().
  template <typename T>
  absl::StatusOr<T> Call(const CallSpec& spec,
                         const std::function<absl::StatusOr<T>(absl::Duration)>& fn,
                         std::vector<Attempt>* attempts = nullptr) {
    std::optional<T> result;
    absl::Status s = Run(
        spec,
        [&](absl::Duration timeout) -> absl::Status {
          absl::StatusOr<T> r = fn(timeout);
          if (!r.ok()) return r.status();
          result = *std::move(r);
          return absl::OkStatus();
        },
        attempts);
    if (!s.ok()) return s;
    return *std::move(result);
  }

  // The backoff before retry number `retry` (1-based): exponential from initial_backoff,
  // capped at max_backoff, with "equal jitter" (uniform in [d/2, d]).
  absl::Duration Backoff(int retry);

  CircuitBreaker& breaker() { return breaker_; }
  const ProviderInfo& provider() const { return provider_; }

 private:
  absl::Status Unavailable(absl::Duration retry_after) const;
  void Report(const Attempt& a, std::vector<Attempt>* attempts);

  const ProviderInfo provider_;
  const RetryOptions retry_;
  Clock* const clock_;
  Sleeper* const sleeper_;
  crypto::Random* const random_;
  CallListener* const listener_;
  CircuitBreaker breaker_;
};

}  // namespace dvc::idv
