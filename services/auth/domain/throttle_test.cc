#include "services/auth/domain/throttle.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/status/errors.h"
#include "services/auth/domain/testing/fakes.h"

namespace dvc::auth {
namespace {

using ::dvc::auth::testing::FakeAuthStore;

std::string RetryAfter(const absl::Status& s) {
  auto info = status::GetErrorInfo(s);
  if (!info.has_value()) return "";
  auto it = info->metadata.find("retry_after_s");
  return it == info->metadata.end() ? "" : it->second;
}

TEST(DelayAfterTest, DoublesFromOneSecondAfterTheFreeFailuresAndCaps) {
  const auto first = absl::Seconds(1), max = absl::Minutes(15);
  EXPECT_EQ(DelayAfter(0, 5, first, max), absl::ZeroDuration());
  EXPECT_EQ(DelayAfter(4, 5, first, max), absl::ZeroDuration());
  EXPECT_EQ(DelayAfter(5, 5, first, max), absl::Seconds(1));
  EXPECT_EQ(DelayAfter(6, 5, first, max), absl::Seconds(2));
  EXPECT_EQ(DelayAfter(7, 5, first, max), absl::Seconds(4));
  EXPECT_EQ(DelayAfter(14, 5, first, max), absl::Seconds(512));
  EXPECT_EQ(DelayAfter(15, 5, first, max), absl::Minutes(15));
  EXPECT_EQ(DelayAfter(1000000, 5, first, max), absl::Minutes(15));  // no overflow
}

class ThrottleTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeAuthStore store_;
  ThrottleOptions options_;
  LoginThrottle throttle_{&store_, &clock_, options_};
};

TEST_F(ThrottleTest, FiveFreeFailuresThenDoublingDelays) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "1.1.1.1").ok()) << i;
  absl::Status s = throttle_.Admit("idx", "1.1.1.1");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_THROTTLED");
  EXPECT_EQ(RetryAfter(s), "1");

  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(throttle_.Admit("idx", "1.1.1.1").ok());  // 6th failure → 2 s
  clock_.Advance(absl::Milliseconds(1500));
  s = throttle_.Admit("idx", "1.1.1.1");
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_THROTTLED");
  EXPECT_EQ(RetryAfter(s), "1");  // 0.5 s left, rounded up
  clock_.Advance(absl::Milliseconds(500));
  ASSERT_TRUE(throttle_.Admit("idx", "1.1.1.1").ok());  // 7th → 4 s
  s = throttle_.Admit("idx", "1.1.1.1");
  EXPECT_EQ(RetryAfter(s), "4");
}

TEST_F(ThrottleTest, RejectedAttemptsAreNotCounted) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(throttle_.Admit("idx", "ip").ok());
  EXPECT_EQ(store_.Throttle(LoginThrottle::PairKey("idx", "ip"))->failures, 5);
}

TEST_F(ThrottleTest, DelayIsCappedAndEndsByItself) {
  // Drive the pair counter far past the cap.
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(throttle_.Admit("idx", "ip").ok()) << i;
    clock_.Advance(absl::Minutes(15));
  }
  ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  absl::Status s = throttle_.Admit("idx", "ip");
  EXPECT_EQ(RetryAfter(s), "900");
  clock_.Advance(absl::Minutes(15));
  EXPECT_TRUE(throttle_.Admit("idx", "ip").ok());
}

TEST_F(ThrottleTest, CountersAreForgottenAfterAQuietDay) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  clock_.Advance(absl::Hours(24));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "ip").ok()) << i;
  EXPECT_FALSE(throttle_.Admit("idx", "ip").ok());
}

TEST_F(ThrottleTest, SuccessResetsThePairCounter) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  ASSERT_TRUE(throttle_.RecordSuccess("idx", "ip").ok());
  auto pair = store_.Throttle(LoginThrottle::PairKey("idx", "ip"));
  EXPECT_EQ(pair->failures, 0);
  EXPECT_FALSE(pair->blocked_until.has_value());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(throttle_.Admit("idx", "ip").ok()) << i;
  // The identifier-wide counter got back only the successful attempt: 6 + 5 - 1.
  EXPECT_EQ(store_.Throttle(LoginThrottle::IdentifierKey("idx"))->failures, 10);
}

TEST_F(ThrottleTest, OtherIdentifiersAndAddressesAreIndependent) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(throttle_.Admit("idx", "ip1").ok());
  EXPECT_FALSE(throttle_.Admit("idx", "ip1").ok());
  EXPECT_TRUE(throttle_.Admit("idx", "ip2").ok());
  EXPECT_TRUE(throttle_.Admit("other", "ip1").ok());
}

TEST_F(ThrottleTest, DistributedGuessingHitsTheIdentifierWideCounter) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(throttle_.Admit("idx", absl::StrCat("10.0.0.", i)).ok()) << i;
  }
  absl::Status s = throttle_.Admit("idx", "10.0.1.1");  // a fresh address
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_THROTTLED");
  EXPECT_EQ(RetryAfter(s), "1");
}

TEST_F(ThrottleTest, AttackersElsewhereCannotLockOutTheUsersTrustedAddress) {
  // The user logged in from home once.
  ASSERT_TRUE(throttle_.Admit("idx", "home").ok());
  ASSERT_TRUE(throttle_.RecordSuccess("idx", "home").ok());
  clock_.Advance(absl::Hours(1));
  // Then an attacker sprays guesses from many addresses.
  for (int i = 0; i < 60; ++i) {
    (void)throttle_.Admit("idx", absl::StrCat("10.0.0.", i));
  }
  EXPECT_FALSE(throttle_.Admit("idx", "elsewhere").ok());
  EXPECT_TRUE(throttle_.Admit("idx", "home").ok());
  // The trust expires.
  ASSERT_TRUE(throttle_.RecordSuccess("idx", "home").ok());
  clock_.Advance(absl::Hours(24 * 30));
  for (int i = 0; i < 30; ++i) (void)throttle_.Admit("idx", absl::StrCat("10.0.1.", i));
  EXPECT_FALSE(throttle_.Admit("idx", "home").ok());
}

TEST_F(ThrottleTest, RefundGivesBackBothCounts) {
  ASSERT_TRUE(throttle_.Admit("idx", "ip").ok());
  ASSERT_TRUE(throttle_.Refund("idx", "ip").ok());
  EXPECT_EQ(store_.Throttle(LoginThrottle::PairKey("idx", "ip"))->failures, 0);
  EXPECT_EQ(store_.Throttle(LoginThrottle::IdentifierKey("idx"))->failures, 0);
}

TEST_F(ThrottleTest, PerAddressCeilingPerWindow) {
  ThrottleOptions o;
  o.ip_limit = 3;
  LoginThrottle t(&store_, &clock_, o);
  clock_.Set(absl::FromUnixSeconds(1795000100));  // 200 s into a 300 s window
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.CheckIp("ip").ok());
  absl::Status s = t.CheckIp("ip");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_IP_LIMITED");
  EXPECT_EQ(RetryAfter(s), "100");
  EXPECT_TRUE(t.CheckIp("other").ok());
  clock_.Advance(absl::Seconds(100));
  EXPECT_TRUE(t.CheckIp("ip").ok());
}

TEST_F(ThrottleTest, SubscriberTrustLastsTrustedIpTtl) {
  const std::string sub = "subidx";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(throttle_.CheckSubscriber(sub, "10.0.0.1").ok());
  absl::Status s = throttle_.CheckSubscriber(sub, "10.0.0.2");
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_SUBSCRIBER_LIMITED");
  EXPECT_EQ(RetryAfter(s), "200");  // FakeClock starts 200 s before a 5-minute boundary

  // 10.0.0.2 signs in: from now on it has its own window.
  ASSERT_TRUE(throttle_.RecordSubscriberSuccess(sub, "10.0.0.2").ok());
  EXPECT_TRUE(throttle_.CheckSubscriber(sub, "10.0.0.2").ok());
  EXPECT_EQ(status::ReasonOf(throttle_.CheckSubscriber(sub, "10.0.0.3")),
            "LOGIN_SUBSCRIBER_LIMITED");
  // Another subscriber's success does not make 10.0.0.3 trusted for this one.
  ASSERT_TRUE(throttle_.RecordSubscriberSuccess("other", "10.0.0.3").ok());
  EXPECT_EQ(status::ReasonOf(throttle_.CheckSubscriber(sub, "10.0.0.3")),
            "LOGIN_SUBSCRIBER_LIMITED");

  // After trusted_ip_ttl the address shares the subscriber's window again.
  clock_.Advance(options_.trusted_ip_ttl);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(throttle_.CheckSubscriber(sub, "10.0.0.9").ok());
  EXPECT_EQ(status::ReasonOf(throttle_.CheckSubscriber(sub, "10.0.0.2")),
            "LOGIN_SUBSCRIBER_LIMITED");
}

TEST_F(ThrottleTest, IpFailuresFillTheIpWindow) {
  ThrottleOptions o;
  o.ip_limit = 3;
  LoginThrottle t(&store_, &clock_, o);
  ASSERT_TRUE(t.CheckIp("10.0.0.1").ok());
  ASSERT_TRUE(t.RecordIpFailure("10.0.0.1").ok());
  ASSERT_TRUE(t.RecordIpFailure("10.0.0.1").ok());
  EXPECT_EQ(status::ReasonOf(t.CheckIp("10.0.0.1")), "LOGIN_IP_LIMITED");
  EXPECT_TRUE(t.CheckIp("10.0.0.2").ok());
}

}  // namespace
}  // namespace dvc::auth
