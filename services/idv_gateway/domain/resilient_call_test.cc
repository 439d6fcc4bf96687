#include "services/idv_gateway/domain/resilient_call.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "libs/crypto/testing/fake_random.h"
#include "libs/status/errors.h"

namespace dvc::idv {
namespace {

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock* clock) : clock_(clock) {}
  void Sleep(absl::Duration d) override {
    sleeps.push_back(d);
    clock_->Advance(d);
  }
  std::vector<absl::Duration> sleeps;

 private:
  FakeClock* clock_;
};

// A scripted provider: each call takes `latency` of fake time (cut at the timeout, as a real
// HTTP client would) and returns the next scripted status.
class FakeProvider {
 public:
  explicit FakeProvider(FakeClock* clock) : clock_(clock) {}
  struct Step {
    absl::Status status;
    absl::Duration latency = absl::Milliseconds(10);
  };
  void Push(absl::Status s, absl::Duration latency = absl::Milliseconds(10)) {
    steps_.push_back({std::move(s), latency});
  }
  absl::Status Call(absl::Duration timeout) {
    timeouts.push_back(timeout);
    Step step = steps_.empty() ? Step{absl::OkStatus()} : steps_.front();
    if (!steps_.empty()) steps_.pop_front();
    if (step.latency > timeout) {
      clock_->Advance(timeout);
      return absl::DeadlineExceededError("timeout");
    }
    clock_->Advance(step.latency);
    return step.status;
  }
  int calls() const { return static_cast<int>(timeouts.size()); }
  std::vector<absl::Duration> timeouts;

 private:
  FakeClock* clock_;
  std::deque<Step> steps_;
};

class RecordingListener final : public CallListener {
 public:
  void OnAttempt(const std::string& provider, const Attempt& a) override {
    outcomes.push_back(provider + ":" + OutcomeName(a.outcome));
  }
  void OnBreakerState(const std::string& provider, BreakerState s) override {
    states.push_back(provider + ":" + BreakerStateName(s));
  }
  std::vector<std::string> outcomes, states;
};

class ResilientCallTest : public ::testing::Test {
 protected:
  ResilientCallTest() : sleeper_(&clock_), provider_(&clock_) {}

  std::unique_ptr<ResilientCaller> Make(RetryOptions r = {}, BreakerOptions b = {}) {
    return std::make_unique<ResilientCaller>(
        ProviderInfo{"telco", "nhà mạng", "the mobile carrier"}, r, b, &clock_, &sleeper_,
        &random_, &listener_);
  }
  absl::Status Run(ResilientCaller& c, bool idempotent = true,
                   std::vector<Attempt>* attempts = nullptr) {
    return c.Run(CallSpec{.idempotent = idempotent},
                 [&](absl::Duration t) { return provider_.Call(t); }, attempts);
  }

  FakeClock clock_;
  FakeSleeper sleeper_;
  crypto::testing::FakeRandom random_{7};
  RecordingListener listener_;
  FakeProvider provider_;
};

TEST_F(ResilientCallTest, SuccessFirstTimeNoRetry) {
  auto c = Make();
  std::vector<Attempt> attempts;
  EXPECT_TRUE(Run(*c, true, &attempts).ok());
  EXPECT_EQ(provider_.calls(), 1);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, Outcome::kOk);
  EXPECT_EQ(attempts[0].latency, absl::Milliseconds(10));
  EXPECT_EQ(provider_.timeouts[0], absl::Seconds(3));
}

TEST_F(ResilientCallTest, RetriesRetryableFailuresThenSucceeds) {
  auto c = Make();
  provider_.Push(absl::UnavailableError("connection refused"));
  provider_.Push(absl::UnavailableError("503"));
  provider_.Push(absl::OkStatus());
  std::vector<Attempt> attempts;
  EXPECT_TRUE(Run(*c, true, &attempts).ok());
  EXPECT_EQ(provider_.calls(), 3);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].outcome, Outcome::kUnavailable);
  EXPECT_EQ(attempts[2].outcome, Outcome::kOk);
  ASSERT_EQ(sleeper_.sleeps.size(), 2u);
  // Equal jitter: retry 1 in [50ms, 100ms], retry 2 in [100ms, 200ms].
  EXPECT_GE(sleeper_.sleeps[0], absl::Milliseconds(50));
  EXPECT_LE(sleeper_.sleeps[0], absl::Milliseconds(100));
  EXPECT_GE(sleeper_.sleeps[1], absl::Milliseconds(100));
  EXPECT_LE(sleeper_.sleeps[1], absl::Milliseconds(200));
  EXPECT_EQ(c->breaker().state(), BreakerState::kClosed);
}

TEST_F(ResilientCallTest, ExhaustedRetriesGiveProviderUnavailable) {
  auto c = Make();
  for (int i = 0; i < 5; ++i) provider_.Push(absl::UnavailableError("503"));
  absl::Status s = Run(*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  auto info = status::GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata.at("provider"), "telco");
  EXPECT_NE(info->message_vi.find("thử lại"), std::string::npos);
  EXPECT_NE(info->message_en.find("try again"), std::string::npos);
  EXPECT_EQ(provider_.calls(), 3);  // 1 + 2 retries
}

TEST_F(ResilientCallTest, NonIdempotentCallIsNotRetried) {
  auto c = Make();
  provider_.Push(absl::UnavailableError("503"));
  absl::Status s = Run(*c, /*idempotent=*/false);
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 1);
  EXPECT_TRUE(sleeper_.sleeps.empty());
}

TEST_F(ResilientCallTest, RejectionIsNotRetriedAndPassesThrough) {
  auto c = Make();
  provider_.Push(status::InvalidArgument("IDV_INPUT_REJECTED", "cccd", "vi", "en"));
  std::vector<Attempt> attempts;
  absl::Status s = Run(*c, true, &attempts);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(s), "IDV_INPUT_REJECTED");
  EXPECT_EQ(provider_.calls(), 1);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, Outcome::kRejected);
}

TEST_F(ResilientCallTest, InternalIsNotRetried) {
  auto c = Make();
  provider_.Push(status::Internal());
  EXPECT_EQ(Run(*c).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(provider_.calls(), 1);
}

TEST_F(ResilientCallTest, TimeoutsStayWithinBudget) {
  // Every attempt hangs: 3 s + 3 s + what is left of 8 s (minus the backoffs).
  auto c = Make();
  for (int i = 0; i < 3; ++i) provider_.Push(absl::OkStatus(), absl::Seconds(60));
  const absl::Time start = clock_.Now();
  absl::Status s = Run(*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  EXPECT_LE(clock_.Now() - start, absl::Seconds(8));
  ASSERT_EQ(provider_.calls(), 3);
  EXPECT_EQ(provider_.timeouts[0], absl::Seconds(3));
  EXPECT_EQ(provider_.timeouts[1], absl::Seconds(3));
  EXPECT_LT(provider_.timeouts[2], absl::Seconds(2));  // what the budget leaves
  EXPECT_GT(provider_.timeouts[2], absl::Seconds(1));
}

TEST_F(ResilientCallTest, NoRetryWhenBudgetIsSpent) {
  RetryOptions r;
  r.attempt_timeout = absl::Seconds(5);
  r.budget = absl::Seconds(5);
  auto c = Make(r);
  provider_.Push(absl::OkStatus(), absl::Seconds(60));
  EXPECT_EQ(status::ReasonOf(Run(*c)), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 1);
}

TEST_F(ResilientCallTest, CallerDeadlineShortensTheBudget) {
  auto c = Make();
  provider_.Push(absl::OkStatus(), absl::Seconds(60));
  absl::Status s = c->Run(CallSpec{.idempotent = true, .deadline = clock_.Now() + absl::Seconds(1)},
                          [&](absl::Duration t) { return provider_.Call(t); });
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  ASSERT_EQ(provider_.calls(), 1);
  EXPECT_EQ(provider_.timeouts[0], absl::Seconds(1));
}

TEST_F(ResilientCallTest, ExpiredCallerDeadlineMakesNoCall) {
  auto c = Make();
  absl::Status s = c->Run(CallSpec{.idempotent = true, .deadline = clock_.Now()},
                          [&](absl::Duration t) { return provider_.Call(t); });
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 0);
}

TEST_F(ResilientCallTest, BackoffGrowsAndIsCapped) {
  RetryOptions r;
  r.initial_backoff = absl::Milliseconds(100);
  r.max_backoff = absl::Milliseconds(300);
  auto c = Make(r);
  for (int i = 0; i < 50; ++i) {
    absl::Duration b1 = c->Backoff(1), b3 = c->Backoff(3), b10 = c->Backoff(10);
    EXPECT_GE(b1, absl::Milliseconds(50));
    EXPECT_LE(b1, absl::Milliseconds(100));
    EXPECT_GE(b3, absl::Milliseconds(150));
    EXPECT_LE(b3, absl::Milliseconds(300));
    EXPECT_GE(b10, absl::Milliseconds(150));
    EXPECT_LE(b10, absl::Milliseconds(300));
  }
  // Jitter actually varies.
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) seen.insert(absl::ToInt64Microseconds(c->Backoff(2)));
  EXPECT_GT(seen.size(), 5u);
}

TEST_F(ResilientCallTest, BreakerOpensAfterConsecutiveFailuresAndFailsFast) {
  RetryOptions r;
  r.max_retries = 0;
  auto c = Make(r, BreakerOptions{.failure_threshold = 5, .open_for = absl::Seconds(30)});
  for (int i = 0; i < 4; ++i) {
    provider_.Push(absl::UnavailableError("503"));
    Run(*c).IgnoreError();
    EXPECT_EQ(c->breaker().state(), BreakerState::kClosed) << i;
  }
  provider_.Push(absl::UnavailableError("503"));
  Run(*c).IgnoreError();
  EXPECT_EQ(c->breaker().state(), BreakerState::kOpen);
  EXPECT_EQ(listener_.states, std::vector<std::string>{"telco:open"});

  // Open: no call reaches the provider; the error says when to retry.
  std::vector<Attempt> attempts;
  absl::Status s = Run(*c, true, &attempts);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), kReasonProviderUnavailable);
  EXPECT_EQ(status::GetErrorInfo(s)->metadata.at("retry_after_s"), "30");
  EXPECT_EQ(provider_.calls(), 5);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, Outcome::kBreakerOpen);
  EXPECT_EQ(listener_.outcomes.back(), "telco:breaker_open");
}

TEST_F(ResilientCallTest, SuccessResetsTheFailureCount) {
  RetryOptions r;
  r.max_retries = 0;
  auto c = Make(r, BreakerOptions{.failure_threshold = 3});
  for (int i = 0; i < 2; ++i) { provider_.Push(absl::UnavailableError("x")); Run(*c).IgnoreError(); }
  provider_.Push(absl::OkStatus());
  ASSERT_TRUE(Run(*c).ok());
  for (int i = 0; i < 2; ++i) { provider_.Push(absl::UnavailableError("x")); Run(*c).IgnoreError(); }
  EXPECT_EQ(c->breaker().state(), BreakerState::kClosed);
  // 4xx answers are not failures either.
  provider_.Push(status::InvalidArgument("X", "f", "vi", "en"));
  Run(*c).IgnoreError();
  provider_.Push(absl::UnavailableError("x"));
  Run(*c).IgnoreError();
  EXPECT_EQ(c->breaker().state(), BreakerState::kClosed);
}

TEST_F(ResilientCallTest, RetriesCountTowardsTheBreaker) {
  // Two calls of three failing attempts each: six consecutive failures open a breaker of five,
  // and the last retry of the second call is refused by it.
  auto c = Make({}, BreakerOptions{.failure_threshold = 5});
  for (int i = 0; i < 6; ++i) provider_.Push(absl::UnavailableError("x"));
  Run(*c).IgnoreError();
  std::vector<Attempt> attempts;
  EXPECT_EQ(status::ReasonOf(Run(*c, true, &attempts)), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 5);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2].outcome, Outcome::kBreakerOpen);
}

TEST_F(ResilientCallTest, HalfOpenSuccessClosesTheBreaker) {
  RetryOptions r;
  r.max_retries = 0;
  auto c = Make(r, BreakerOptions{.failure_threshold = 2, .open_for = absl::Seconds(30)});
  for (int i = 0; i < 2; ++i) { provider_.Push(absl::UnavailableError("x")); Run(*c).IgnoreError(); }
  ASSERT_EQ(c->breaker().state(), BreakerState::kOpen);
  clock_.Advance(absl::Seconds(29));
  EXPECT_EQ(status::ReasonOf(Run(*c)), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 2);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(c->breaker().state(), BreakerState::kHalfOpen);
  provider_.Push(absl::OkStatus());
  EXPECT_TRUE(Run(*c).ok());
  EXPECT_EQ(provider_.calls(), 3);
  EXPECT_EQ(c->breaker().state(), BreakerState::kClosed);
  EXPECT_EQ(listener_.states,
            (std::vector<std::string>{"telco:open", "telco:half_open", "telco:closed"}));
  // Closed again: a single failure does not re-open it.
  provider_.Push(absl::UnavailableError("x"));
  Run(*c).IgnoreError();
  EXPECT_EQ(c->breaker().state(), BreakerState::kClosed);
}

TEST_F(ResilientCallTest, HalfOpenFailureReopensForAnotherPeriod) {
  auto c = Make({}, BreakerOptions{.failure_threshold = 1, .open_for = absl::Seconds(30)});
  provider_.Push(absl::UnavailableError("x"));
  Run(*c, false).IgnoreError();
  ASSERT_EQ(c->breaker().state(), BreakerState::kOpen);
  clock_.Advance(absl::Seconds(30));
  // The trial fails: the breaker re-opens and the retry of that same call is refused.
  provider_.Push(absl::UnavailableError("x"));
  std::vector<Attempt> attempts;
  EXPECT_EQ(status::ReasonOf(Run(*c, true, &attempts)), kReasonProviderUnavailable);
  EXPECT_EQ(provider_.calls(), 2);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[1].outcome, Outcome::kBreakerOpen);
  EXPECT_EQ(c->breaker().state(), BreakerState::kOpen);
  clock_.Advance(absl::Seconds(29));
  EXPECT_EQ(c->breaker().state(), BreakerState::kOpen);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(c->breaker().state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, HalfOpenAdmitsExactlyOneTrial) {
  FakeClock clock;
  CircuitBreaker b(BreakerOptions{.failure_threshold = 1, .open_for = absl::Seconds(10)}, &clock);
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  EXPECT_FALSE(b.Allow());
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(b.Allow());   // the trial
  EXPECT_FALSE(b.Allow());  // everyone else waits for its verdict
  EXPECT_FALSE(b.Allow());
  b.RecordSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreakerTest, LateSuccessDoesNotCloseAnOpenBreaker) {
  FakeClock clock;
  CircuitBreaker b(BreakerOptions{.failure_threshold = 1, .open_for = absl::Seconds(10)}, &clock);
  ASSERT_TRUE(b.Allow());
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();  // opens
  b.RecordSuccess();  // the other call, admitted earlier, finishes fine
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(OutcomeTest, Classification) {
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus()), Outcome::kOk);
  EXPECT_EQ(ClassifyAttempt(absl::UnavailableError("")), Outcome::kUnavailable);
  EXPECT_EQ(ClassifyAttempt(absl::DeadlineExceededError("")), Outcome::kTimeout);
  EXPECT_EQ(ClassifyAttempt(absl::InternalError("")), Outcome::kError);
  EXPECT_EQ(ClassifyAttempt(absl::InvalidArgumentError("")), Outcome::kRejected);
  EXPECT_EQ(ClassifyAttempt(absl::NotFoundError("")), Outcome::kRejected);
}

}  // namespace
}  // namespace dvc::idv
