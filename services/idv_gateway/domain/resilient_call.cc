#include "services/idv_gateway/domain/resilient_call.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::idv {

const char* BreakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "ok";
    case Outcome::kRejected: return "rejected";
    case Outcome::kError: return "error";
    case Outcome::kUnavailable: return "unavailable";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kBreakerOpen: return "breaker_open";
  }
  return "unknown";
}

Outcome ClassifyAttempt(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk: return Outcome::kOk;
    case absl::StatusCode::kUnavailable: return Outcome::kUnavailable;
    case absl::StatusCode::kDeadlineExceeded: return Outcome::kTimeout;
    case absl::StatusCode::kInternal: return Outcome::kError;
    default: return Outcome::kRejected;
  }
}

// ---- CircuitBreaker ----

CircuitBreaker::CircuitBreaker(BreakerOptions options, Clock* clock,
                               std::function<void(BreakerState)> on_change)
    : options_(options), clock_(clock), on_change_(std::move(on_change)) {}

void CircuitBreaker::SetState(BreakerState s) { state_ = s; }

bool CircuitBreaker::Allow() {
  std::optional<BreakerState> changed;
  bool allow = false;
  {
    absl::MutexLock l(&mu_);
    switch (state_) {
      case BreakerState::kClosed:
        allow = true;
        break;
      case BreakerState::kOpen:
        if (clock_->Now() >= opened_at_ + options_.open_for) {
          SetState(BreakerState::kHalfOpen);
          changed = BreakerState::kHalfOpen;
          trial_in_flight_ = true;
          allow = true;
        }
        break;
      case BreakerState::kHalfOpen:
        if (!trial_in_flight_) {
          trial_in_flight_ = true;
          allow = true;
        }
        break;
    }
  }
  if (changed && on_change_) on_change_(*changed);
  return allow;
}

void CircuitBreaker::RecordSuccess() {
  bool changed = false;
  {
    absl::MutexLock l(&mu_);
    consecutive_failures_ = 0;
    trial_in_flight_ = false;
    // A late success of a call admitted before the breaker opened does not close it: only the
    // half-open trial may.
    if (state_ == BreakerState::kHalfOpen) {
      SetState(BreakerState::kClosed);
      changed = true;
    }
  }
  if (changed && on_change_) on_change_(BreakerState::kClosed);
}

void CircuitBreaker::RecordFailure() {
  bool changed = false;
  {
    absl::MutexLock l(&mu_);
    switch (state_) {
      case BreakerState::kClosed:
        if (++consecutive_failures_ >= options_.failure_threshold) {
          SetState(BreakerState::kOpen);
          opened_at_ = clock_->Now();
          changed = true;
        }
        break;
      case BreakerState::kHalfOpen:
        SetState(BreakerState::kOpen);
        opened_at_ = clock_->Now();
        trial_in_flight_ = false;
        changed = true;
        break;
      case BreakerState::kOpen:
        break;  // a call admitted before the breaker opened; nothing to add
    }
  }
  if (changed && on_change_) on_change_(BreakerState::kOpen);
}

BreakerState CircuitBreaker::state() {
  absl::MutexLock l(&mu_);
  if (state_ == BreakerState::kOpen && clock_->Now() >= opened_at_ + options_.open_for) {
    return BreakerState::kHalfOpen;
  }
  return state_;
}

absl::Duration CircuitBreaker::RemainingOpen() {
  absl::MutexLock l(&mu_);
  if (state_ != BreakerState::kOpen) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), opened_at_ + options_.open_for - clock_->Now());
}

// ---- ResilientCaller ----

ResilientCaller::ResilientCaller(ProviderInfo provider, RetryOptions retry,
                                 BreakerOptions breaker, Clock* clock, Sleeper* sleeper,
                                 crypto::Random* random, CallListener* listener)
    : provider_(std::move(provider)),
      retry_(retry),
      clock_(clock),
      sleeper_(sleeper),
      random_(random),
      listener_(listener),
      breaker_(breaker, clock, [this](BreakerState s) {
        log::Warn("idv.breaker", {{"provider", provider_.name}, {"state", BreakerStateName(s)}});
        if (listener_ != nullptr) listener_->OnBreakerState(provider_.name, s);
      }) {}

absl::Duration ResilientCaller::Backoff(int retry) {
  absl::Duration d = retry_.initial_backoff;
  for (int i = 1; i < retry && d < retry_.max_backoff; ++i) d *= 2;
  d = std::min(d, retry_.max_backoff);
  const int64_t us = absl::ToInt64Microseconds(d);
  if (us <= 1) return d;
  const int64_t half = us / 2;
  return absl::Microseconds(half + static_cast<int64_t>(
                                       random_->Uniform(static_cast<uint64_t>(us - half + 1))));
}

absl::Status ResilientCaller::Unavailable(absl::Duration retry_after) const {
  absl::Status s = status::Unavailable(
      kReasonProviderUnavailable,
      absl::StrCat("Không kết nối được với ", provider_.name_vi,
                   ". Vui lòng thử lại sau ít phút."),
      absl::StrCat("Could not reach ", provider_.name_en, ". Please try again in a moment."));
  s = status::WithMetadata(s, "provider", provider_.name);
  const int64_t secs = absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1)));
  return status::WithMetadata(s, "retry_after_s", absl::StrCat(std::max<int64_t>(secs, 1)));
}

void ResilientCaller::Report(const Attempt& a, std::vector<Attempt>* attempts) {
  if (attempts != nullptr) attempts->push_back(a);
  if (listener_ != nullptr) listener_->OnAttempt(provider_.name, a);
}

absl::Status ResilientCaller::Run(
    const CallSpec& spec, const std::function<absl::Status(absl::Duration)>& attempt,
    std::vector<Attempt>* attempts) {
  const absl::Time start = clock_->Now();
  const absl::Time end = std::min(start + retry_.budget, spec.deadline);
  for (int n = 1;; ++n) {
    const absl::Time now = clock_->Now();
    if (end - now < retry_.min_attempt) {
      // The caller's deadline is (nearly) over: an answer could not reach anyone.
      return Unavailable(absl::ZeroDuration());
    }
    if (!breaker_.Allow()) {
      Report(Attempt{.number = n, .outcome = Outcome::kBreakerOpen, .at = now,
                     .latency = absl::ZeroDuration()},
             attempts);
      return Unavailable(breaker_.RemainingOpen());
    }
    const absl::Duration timeout = std::min(retry_.attempt_timeout, end - now);
    absl::Status s = attempt(timeout);
    const absl::Duration latency = clock_->Now() - now;
    const Outcome outcome = ClassifyAttempt(s);
    Report(Attempt{.number = n, .outcome = outcome, .at = now, .latency = latency}, attempts);
    if (outcome != Outcome::kUnavailable && outcome != Outcome::kTimeout) {
      breaker_.RecordSuccess();
      return s;
    }
    breaker_.RecordFailure();
    log::Warn("idv.provider_attempt_failed",
              {{"provider", provider_.name}, {"attempt", absl::StrCat(n)},
               {"outcome", OutcomeName(outcome)},
               {"latency_ms", absl::StrCat(absl::ToInt64Milliseconds(latency))}});
    if (!spec.idempotent || n > retry_.max_retries) return Unavailable(absl::ZeroDuration());
    const absl::Duration backoff = Backoff(n);
    if (clock_->Now() + backoff + retry_.min_attempt > end) {
      return Unavailable(absl::ZeroDuration());
    }
    sleeper_->Sleep(backoff);
  }
}

}  // namespace dvc::idv
