// Needs PostgreSQL: DATABASE_URL=postgresql://app@127.0.0.1:55432/postgres bazel test ...
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/barrier.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/pg/migrate.h"
#include "libs/pg/testing/test_database.h"
#include "services/auth/adapters/pg_auth_store.h"
#include "libs/status/errors.h"
#include "services/auth/migrations.h"

namespace dvc::auth {
namespace {

constexpr char kAccount[] = "6f1c2a3b-0000-4000-8000-000000000001";
constexpr char kCaptchaKey[] = "captcha-test-key-0123456789";

class PgAuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("auth_store");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 12});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    store_ = std::make_unique<PgAuthStore>(pool_.get(), kCaptchaKey);
    captchas_ = captcha::NewPgCaptchaChecker(pool_.get(), &captcha_clock_, &random_, kCaptchaKey,
                                             captcha::IssuerOptions{.expose_answer = true});
  }
  void TearDown() override {
    captchas_.reset();
    store_.reset();
    pool_.reset();
    db_.reset();
  }

  std::string Uuid(int n) {
    return absl::StrCat("6f1c2a3b-0000-4000-8000-", absl::StrFormat("%012d", n));
  }

  Session NewSession(const std::string& sid, absl::Duration max = absl::Hours(12)) {
    Session s;
    s.session_id = sid;
    s.account_id = kAccount;
    s.ial = 2;
    s.amr = {"pwd", "otp"};
    s.auth_time = now_;
    s.created_at = now_;
    s.expires_at = now_ + max;
    s.client = {"203.0.113.7", "UA", "web"};
    return s;
  }
  RefreshRecord Token(const std::string& hmac, absl::Duration idle = absl::Minutes(30)) {
    return RefreshRecord{hmac, "", now_, now_ + idle};
  }

  // RotateRefreshToken with the default reuse grace window (30 s).
  absl::StatusOr<RotateResult> Rotate(const std::string& old_hmac, RefreshRecord next,
                                      absl::Time at, absl::Duration grace = absl::Seconds(30)) {
    return store_->RotateRefreshToken(old_hmac, std::move(next), at, grace);
  }
  // Session Uuid(n) whose first token `first` was rotated at now_ to `first`-s.
  void RotatedOnce(int n, const std::string& first) {
    ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(n)), Token(first)).ok());
    ASSERT_EQ(Rotate(first, Token(first + "-s"), now_)->outcome, RotateOutcome::kRotated);
  }
  // Runs `fns` on threads released at once.
  static void RunTogether(const std::vector<std::function<void()>>& fns) {
    absl::Barrier* barrier = new absl::Barrier(static_cast<int>(fns.size()));
    std::vector<std::thread> threads;
    for (const auto& fn : fns) {
      threads.emplace_back([barrier, &fn] {
        if (barrier->Block()) delete barrier;
        fn();
      });
    }
    for (auto& th : threads) th.join();
  }
  // Whether a stored token can still be rotated (neither used nor superseded).
  bool Usable(const std::string& hmac) {
    return Count("SELECT count(*) FROM refresh_tokens WHERE token_hmac = '" + hmac +
                 "' AND used_at IS NULL AND superseded_at IS NULL") == 1;
  }

  int Count(const std::string& sql) {
    int n = -1;
    EXPECT_TRUE(pool_
                    ->WithReadOnly([&](pqxx::work& tx) {
                      n = tx.exec1(sql)[0].as<int>();
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  // A password admission from `ip` with a captcha issued by libs/captcha_issuer (as auth's
  // CreateCaptcha does); `ip_limit` requests per window; the throttle step adds one failure to
  // each key, or fails when `throttled`.
  PasswordAdmission Admission(const std::string& ip, const std::string& captcha_id,
                              const std::string& answer, int ip_limit = 100,
                              bool throttled = false) {
    PasswordAdmission a;
    a.ip_window_key = "ip:" + ip;
    a.ip_window_start = now_;
    a.check_ip = [ip_limit](int count) {
      return count > ip_limit ? absl::ResourceExhaustedError("ip limited") : absl::OkStatus();
    };
    a.captcha_id = captcha_id;
    a.captcha_answer = answer;
    a.now = captcha_clock_.Now();
    a.throttle.keys = {"pair:x:" + ip, "id:x"};
    a.throttle.fn = [throttled](std::vector<ThrottleState>& st) {
      if (throttled) return absl::ResourceExhaustedError("throttled");
      for (auto& x : st) x.failures++;
      return absl::OkStatus();
    };
    return a;
  }
  captcha::IssuedCaptcha Captcha() {
    auto c = captchas_->Issue();
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }
  int Failures(const std::string& key) {
    int n = -1;
    absl::Status s = store_->UpdateThrottles({key}, [&](std::vector<ThrottleState>& st) {
      n = st[0].failures;
      return absl::CancelledError("read only");
    });
    EXPECT_TRUE(absl::IsCancelled(s));
    return n;
  }

  FakeClock captcha_clock_;
  crypto::OsRandom random_;
  std::unique_ptr<captcha::CaptchaChecker> captchas_;
  // Microsecond precision, as stored.
  absl::Time now_ = absl::FromUnixMicros(1795000000123456);
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgAuthStore> store_;
};

TEST_F(PgAuthStoreTest, MigrationsIncludeTheCaptchaTable) {
  bool has = false;
  ASSERT_TRUE(pool_
                  ->WithReadOnly([&](pqxx::work& tx) {
                    has = tx.exec1("SELECT to_regclass('captchas') IS NOT NULL")[0].as<bool>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(has);
}

TEST_F(PgAuthStoreTest, LoginFlowRoundTripAndSingleCompletion) {
  LoginFlow f;
  f.flow_id = Uuid(1);
  f.account_id = kAccount;
  f.ial = 2;
  f.challenge_id = "ch-1";
  f.client = {"203.0.113.7", "Mozilla", "iPhone"};
  f.created_at = now_;
  f.expires_at = now_ + absl::Minutes(10);
  ASSERT_TRUE(store_->CreateLoginFlow(f).ok());
  auto got = store_->GetLoginFlow(f.flow_id);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->account_id, kAccount);
  EXPECT_EQ((*got)->challenge_id, "ch-1");
  EXPECT_EQ((*got)->client.device, "iPhone");
  EXPECT_EQ((*got)->created_at, now_);
  EXPECT_EQ((*got)->expires_at, now_ + absl::Minutes(10));
  EXPECT_FALSE((*got)->completed_at.has_value());
  EXPECT_EQ((*got)->method, "PASSWORD_OTP");
  EXPECT_EQ((*got)->subscriber_index, "");

  EXPECT_EQ(*store_->CompleteLoginFlow(f.flow_id, now_), true);
  EXPECT_EQ(*store_->CompleteLoginFlow(f.flow_id, now_), false);
  EXPECT_EQ((*store_->GetLoginFlow(f.flow_id))->completed_at, now_);
  EXPECT_FALSE(store_->GetLoginFlow(Uuid(2))->has_value());
  EXPECT_FALSE(store_->GetLoginFlow("not-a-uuid")->has_value());
}

TEST_F(PgAuthStoreTest, CertificateFlowHasNoAccountAndKeepsMethodAndSubscriber) {
  LoginFlow f;
  f.flow_id = Uuid(3);
  f.method = "SIM";
  f.challenge_id = "tx-9";
  f.subscriber_index = "abc123";
  f.client = {"203.0.113.7", "Mozilla", "web"};
  f.created_at = now_;
  f.expires_at = now_ + absl::Minutes(10);
  ASSERT_TRUE(store_->CreateLoginFlow(f).ok());
  auto got = store_->GetLoginFlow(f.flow_id);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->account_id, "");
  EXPECT_EQ((*got)->method, "SIM");
  EXPECT_EQ((*got)->challenge_id, "tx-9");
  EXPECT_EQ((*got)->subscriber_index, "abc123");
  EXPECT_EQ(*store_->CompleteLoginFlow(f.flow_id, now_), true);
  EXPECT_EQ(*store_->CompleteLoginFlow(f.flow_id, now_), false);

  // A password flow must name its account.
  LoginFlow p = f;
  p.flow_id = Uuid(4);
  p.method = "PASSWORD_OTP";
  EXPECT_FALSE(store_->CreateLoginFlow(p).ok());
}

TEST_F(PgAuthStoreTest, ThrottleStatesRoundTripAndFailedUpdatesWriteNothing) {
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"b", "a"},
                                    [&](std::vector<ThrottleState>& s) {
                                      EXPECT_EQ(s[0].key, "b");
                                      EXPECT_EQ(s[0].failures, 0);
                                      EXPECT_FALSE(s[0].blocked_until.has_value());
                                      s[0].failures = 7;
                                      s[0].blocked_until = now_ + absl::Seconds(4);
                                      s[0].last_failure_at = now_;
                                      s[1].last_success_at = now_;
                                      return absl::OkStatus();
                                    })
                  .ok());
  absl::Status rejected =
      store_->UpdateThrottles({"a", "b", "c"}, [&](std::vector<ThrottleState>& s) {
        EXPECT_EQ(s[1].failures, 7);
        EXPECT_EQ(s[1].blocked_until, now_ + absl::Seconds(4));
        EXPECT_EQ(s[1].last_failure_at, now_);
        EXPECT_FALSE(s[1].last_success_at.has_value());
        EXPECT_EQ(s[0].last_success_at, now_);
        s[1].failures = 100;
        return absl::ResourceExhaustedError("throttled");
      });
  EXPECT_EQ(rejected.code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"b"},
                                    [&](std::vector<ThrottleState>& s) {
                                      EXPECT_EQ(s[0].failures, 7);
                                      s[0].blocked_until.reset();
                                      return absl::OkStatus();
                                    })
                  .ok());
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"b"},
                                    [&](std::vector<ThrottleState>& s) {
                                      EXPECT_FALSE(s[0].blocked_until.has_value());
                                      return absl::OkStatus();
                                    })
                  .ok());
  int rows = 0;
  ASSERT_TRUE(pool_
                  ->WithReadOnly([&](pqxx::work& tx) {
                    rows = tx.exec1("SELECT count(*) FROM login_throttles")[0].as<int>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(rows, 2);  // "c" was rolled back
}

TEST_F(PgAuthStoreTest, ConcurrentThrottleUpdatesDoNotLoseCounts) {
  constexpr int kThreads = 8, kEach = 20;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Half the threads name the keys in the other order: no deadlock either way.
        std::vector<std::string> keys = t % 2 ? std::vector<std::string>{"id:x", "pair:x:ip"}
                                              : std::vector<std::string>{"pair:x:ip", "id:x"};
        absl::Status s = store_->UpdateThrottles(keys, [](std::vector<ThrottleState>& st) {
          for (auto& x : st) x.failures++;
          return absl::OkStatus();
        });
        if (!s.ok()) errors++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"id:x", "pair:x:ip"},
                                    [](std::vector<ThrottleState>& st) {
                                      EXPECT_EQ(st[0].failures, kThreads * kEach);
                                      EXPECT_EQ(st[1].failures, kThreads * kEach);
                                      return absl::OkStatus();
                                    })
                  .ok());
}

TEST_F(PgAuthStoreTest, AdmissionChecksCaptchasIssuedByTheCaptchaLibrary) {
  // The right answer, in lower case with spaces: admitted, throttles counted.
  captcha::IssuedCaptcha c1 = Captcha();
  std::string relaxed = absl::AsciiStrToLower(c1.dev_answer);
  relaxed.insert(1, " ");
  ASSERT_TRUE(store_->AdmitPasswordAttempt(Admission("1.1.1.1", c1.captcha_id, relaxed)).ok());
  EXPECT_EQ(Failures("pair:x:1.1.1.1"), 1);
  EXPECT_EQ(Failures("id:x"), 1);
  // Single use: the same captcha again is invalid, and nothing more is counted.
  absl::Status again = store_->AdmitPasswordAttempt(Admission("1.1.1.1", c1.captcha_id, relaxed));
  EXPECT_EQ(again.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(again), "CAPTCHA_INVALID");
  EXPECT_EQ(Failures("id:x"), 1);

  // A wrong answer consumes the captcha too.
  captcha::IssuedCaptcha c2 = Captcha();
  EXPECT_EQ(status::ReasonOf(store_->AdmitPasswordAttempt(Admission("1.1.1.1", c2.captcha_id, "?"))),
            "CAPTCHA_INVALID");
  EXPECT_EQ(status::ReasonOf(
                store_->AdmitPasswordAttempt(Admission("1.1.1.1", c2.captcha_id, c2.dev_answer))),
            "CAPTCHA_INVALID");
  // Missing, unknown, over-long and expired captchas.
  EXPECT_EQ(status::ReasonOf(store_->AdmitPasswordAttempt(Admission("1.1.1.1", "", "AB"))),
            "CAPTCHA_REQUIRED");
  EXPECT_EQ(status::ReasonOf(store_->AdmitPasswordAttempt(Admission("1.1.1.1", "x", " "))),
            "CAPTCHA_REQUIRED");
  EXPECT_EQ(status::ReasonOf(store_->AdmitPasswordAttempt(Admission("1.1.1.1", "nope", "AB"))),
            "CAPTCHA_INVALID");
  EXPECT_EQ(status::ReasonOf(store_->AdmitPasswordAttempt(
                Admission("1.1.1.1", std::string(65, 'a'), "AB"))),
            "CAPTCHA_INVALID");
  captcha::IssuedCaptcha c3 = Captcha();
  captcha_clock_.Advance(absl::Minutes(6));
  absl::Status expired =
      store_->AdmitPasswordAttempt(Admission("1.1.1.1", c3.captcha_id, c3.dev_answer));
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(expired), "CAPTCHA_EXPIRED");
  EXPECT_EQ(Failures("id:x"), 1);
  // Every request counted in the IP window, whatever its captcha.
  EXPECT_EQ(*store_->IncrementWindow("ip:1.1.1.1", now_), 10);
}

TEST_F(PgAuthStoreTest, AdmissionStepsStopAtTheFirstFailureAndKeepWhatCameBefore) {
  // Past the IP limit: counted in the window, but the captcha is not consumed.
  captcha::IssuedCaptcha c = Captcha();
  ASSERT_TRUE(store_->IncrementWindow("ip:2.2.2.2", now_).ok());
  absl::Status limited =
      store_->AdmitPasswordAttempt(Admission("2.2.2.2", c.captcha_id, c.dev_answer, 1));
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Count("SELECT count(*) FROM captchas WHERE used_at IS NOT NULL"), 0);
  EXPECT_EQ(Count("SELECT count FROM rate_windows WHERE key = 'ip:2.2.2.2'"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM login_throttles"), 0);

  // Throttled: captcha consumed and window counted, counters not written.
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"id:x"},
                                    [](std::vector<ThrottleState>& st) {
                                      st[0].failures = 9;
                                      return absl::OkStatus();
                                    })
                  .ok());
  absl::Status throttled = store_->AdmitPasswordAttempt(
      Admission("3.3.3.3", c.captcha_id, c.dev_answer, 100, /*throttled=*/true));
  EXPECT_EQ(throttled.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(throttled.message(), "throttled");
  EXPECT_EQ(Count("SELECT count(*) FROM captchas WHERE used_at IS NOT NULL"), 1);
  EXPECT_EQ(Count("SELECT count FROM rate_windows WHERE key = 'ip:3.3.3.3'"), 1);
  EXPECT_EQ(Failures("id:x"), 9);
  EXPECT_EQ(Failures("pair:x:3.3.3.3"), 0);
}

TEST_F(PgAuthStoreTest, ThrottleKeysWithQuotesBracesAndBackslashesRoundTrip) {
  // Client addresses come from the gateway's X-Forwarded-For: anything up to 64 characters.
  const std::vector<std::string> keys = {"pair:x:\"a,b\"", "pair:x:{}\\", "pair:x:NULL",
                                         "pair:x: sp ", "id:x"};
  ASSERT_TRUE(store_
                  ->UpdateThrottles(keys,
                                    [&](std::vector<ThrottleState>& st) {
                                      for (size_t i = 0; i < st.size(); ++i) {
                                        EXPECT_EQ(st[i].key, keys[i]);
                                        st[i].failures = static_cast<int>(i) + 1;
                                        if (i % 2) st[i].blocked_until = now_;
                                      }
                                      return absl::OkStatus();
                                    })
                  .ok());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(Failures(keys[i]), i + 1) << keys[i];
  EXPECT_EQ(Count("SELECT count(*) FROM login_throttles WHERE blocked_until IS NOT NULL"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM login_throttles"), 5);
}

TEST_F(PgAuthStoreTest, SuccessAndLoginFlowAreWrittenTogetherOrNotAtAll) {
  LoginFlow f;
  f.flow_id = Uuid(41);
  f.account_id = kAccount;
  f.ial = 2;
  f.challenge_id = "ch-1";
  f.created_at = now_;
  f.expires_at = now_ + absl::Minutes(10);
  ThrottleUpdate success{{"pair:x:ip", "id:x"}, [&](std::vector<ThrottleState>& st) {
                           st[0].last_success_at = now_;
                           st[1].failures = 3;
                           return absl::OkStatus();
                         }};
  ASSERT_TRUE(store_->UpdateThrottlesAndCreateFlow(success, f).ok());
  auto got = store_->GetLoginFlow(f.flow_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->challenge_id, "ch-1");
  EXPECT_EQ(Failures("id:x"), 3);

  // The same flow id again: the insert fails, so the counters are not written either.
  ThrottleUpdate more{{"pair:x:ip", "id:x"}, [](std::vector<ThrottleState>& st) {
                        st[1].failures = 50;
                        return absl::OkStatus();
                      }};
  EXPECT_FALSE(store_->UpdateThrottlesAndCreateFlow(more, f).ok());
  EXPECT_EQ(Failures("id:x"), 3);
  // A failing update: no flow.
  f.flow_id = Uuid(42);
  ThrottleUpdate refused{{"id:x"}, [](std::vector<ThrottleState>&) {
                           return absl::FailedPreconditionError("no");
                         }};
  EXPECT_EQ(store_->UpdateThrottlesAndCreateFlow(refused, f).code(),
            absl::StatusCode::kFailedPrecondition);
  got = store_->GetLoginFlow(f.flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(PgAuthStoreTest, WindowCounters) {
  EXPECT_EQ(*store_->IncrementWindow("ip:1", now_), 1);
  EXPECT_EQ(*store_->IncrementWindow("ip:1", now_), 2);
  EXPECT_EQ(*store_->IncrementWindow("ip:2", now_), 1);
  EXPECT_EQ(*store_->IncrementWindow("ip:1", now_ + absl::Minutes(5)), 1);
}

TEST_F(PgAuthStoreTest, LoginHistoryNewestFirstWithLimit) {
  for (int i = 0; i < 5; ++i) {
    LoginRecord r{kAccount,   now_ + absl::Minutes(i),    "PASSWORD_OTP",
                  i % 2 == 0, i % 2 ? "OTP_INVALID" : "", "203.0.113.7",
                  "UA",       absl::StrCat("dev", i)};
    ASSERT_TRUE(store_->AppendLoginRecord(r).ok());
  }
  ASSERT_TRUE(
      store_->AppendLoginRecord(LoginRecord{Uuid(9), now_, "PASSWORD_OTP", true, "", "", "", ""})
          .ok());
  auto list = store_->ListLoginRecords(kAccount, 3);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].device, "dev4");
  EXPECT_EQ((*list)[0].at, now_ + absl::Minutes(4));
  EXPECT_TRUE((*list)[0].success);
  EXPECT_EQ((*list)[1].failure_reason, "OTP_INVALID");
  EXPECT_EQ((*list)[2].device, "dev2");
}

TEST_F(PgAuthStoreTest, RotationReuseAndRevocation) {
  ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(1)), Token("h1")).ok());
  auto state = store_->GetSessionState(Uuid(1));
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->exists);
  EXPECT_FALSE(state->revoked);
  EXPECT_EQ(state->expires_at, now_ + absl::Hours(12));

  auto r = Rotate("h1", Token("h2"), now_ + absl::Minutes(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r->session.session_id, Uuid(1));
  EXPECT_EQ(r->session.amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(r->session.auth_time, now_);
  EXPECT_EQ(r->session.ial, 2);

  EXPECT_EQ(Rotate("nope", Token("h9"), now_)->outcome, RotateOutcome::kUnknown);
  EXPECT_EQ(Rotate("h1", Token("h3"), now_ + absl::Minutes(2))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
  EXPECT_EQ(Rotate("h2", Token("h4"), now_ + absl::Minutes(2))->outcome, RotateOutcome::kRevoked);
}

TEST_F(PgAuthStoreTest, IdleAndAbsoluteExpiry) {
  ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(1)), Token("idle")).ok());
  EXPECT_EQ(Rotate("idle", Token("x"), now_ + absl::Minutes(30))->outcome, RotateOutcome::kExpired);
  // The first token's idle expiry is clamped to the session's absolute expiry.
  ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(2), absl::Minutes(10)), Token("abs")).ok());
  EXPECT_EQ(Rotate("abs", Token("y"), now_ + absl::Minutes(10))->outcome, RotateOutcome::kExpired);
  EXPECT_EQ(Rotate("abs", Token("y"), now_ + absl::Minutes(9))->outcome, RotateOutcome::kRotated);
}

// Concurrent refreshes with one token are serialised on its row. Without a grace window
// exactly one gets kRotated and the others kReused (the session is revoked). With one (LGN-8:
// two tabs refreshing at once, retries) the first rotates and each later one is a grace replay
// that supersedes the successor issued before it: exactly one successor stays usable and the
// session lives on.
TEST_F(PgAuthStoreTest, ConcurrentRefreshWithOneTokenLeavesExactlyOneUsableSuccessor) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 6; ++round) {
    const bool grace = round % 2 == 1;
    std::string sid = Uuid(100 + round);
    std::string first = absl::StrCat("r", round);
    ASSERT_TRUE(store_->CreateSession(NewSession(sid), Token(first)).ok());
    std::vector<RotateOutcome> outcomes(kThreads);
    std::vector<std::function<void()>> calls;
    for (int t = 0; t < kThreads; ++t) {
      calls.push_back([&, t] {
        auto r = Rotate(first, Token(absl::StrCat(first, "-", t)), now_ + absl::Seconds(1),
                        grace ? absl::Seconds(30) : absl::ZeroDuration());
        ASSERT_TRUE(r.ok()) << r.status();
        outcomes[t] = r->outcome;
      });
    }
    RunTogether(calls);
    std::map<RotateOutcome, int> by_outcome;
    for (auto o : outcomes) by_outcome[o]++;
    std::vector<std::string> usable;
    for (int t = 0; t < kThreads; ++t) {
      if (Usable(absl::StrCat(first, "-", t))) usable.push_back(absl::StrCat(first, "-", t));
    }
    ASSERT_EQ(usable.size(), 1u) << "round " << round;
    EXPECT_EQ(by_outcome[RotateOutcome::kRotated], 1) << "round " << round;
    if (grace) {
      EXPECT_EQ(by_outcome[RotateOutcome::kGraceReplay], kThreads - 1) << "round " << round;
      EXPECT_FALSE(store_->GetSessionState(sid)->revoked) << "round " << round;
      EXPECT_EQ(Rotate(usable[0], Token(first + "-next"), now_ + absl::Seconds(2))->outcome,
                RotateOutcome::kRotated);
    } else {
      EXPECT_EQ(by_outcome[RotateOutcome::kReused], kThreads - 1) << "round " << round;
      EXPECT_TRUE(store_->GetSessionState(sid)->revoked) << "round " << round;
    }
  }
}

TEST_F(PgAuthStoreTest, GraceReplaySupersedesTheUnusedSuccessor) {
  RotatedOnce(1, "g1");
  auto r = Rotate("g1", Token("g3"), now_ + absl::Seconds(29));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RotateOutcome::kGraceReplay);
  EXPECT_EQ(r->session.session_id, Uuid(1));
  EXPECT_EQ(r->session.amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(r->session.ial, 2);
  EXPECT_FALSE(Usable("g1-s"));
  EXPECT_TRUE(Usable("g3"));
  // The window still counts from the first rotation; only keyed hashes are stored.
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE token_hmac = 'g1' AND "
                  "replaced_by = 'g3' AND used_at = TIMESTAMPTZ 'epoch' + " +
                  std::to_string(absl::ToUnixMicros(now_)) + " * INTERVAL '1 microsecond'"),
            1);
  EXPECT_FALSE(store_->GetSessionState(Uuid(1))->revoked);
  // The new successor rotates as usual; the superseded one is a reuse.
  EXPECT_EQ(Rotate("g3", Token("g4"), now_ + absl::Seconds(40))->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(Rotate("g1-s", Token("g5"), now_ + absl::Seconds(41))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
}

TEST_F(PgAuthStoreTest, SupersededTokenIsAReuseEvenWithinTheWindow) {
  RotatedOnce(1, "s1");
  ASSERT_EQ(Rotate("s1", Token("s3"), now_ + absl::Seconds(1))->outcome,
            RotateOutcome::kGraceReplay);
  EXPECT_EQ(Rotate("s1-s", Token("s4"), now_ + absl::Seconds(2))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
  EXPECT_EQ(Rotate("s3", Token("s5"), now_ + absl::Seconds(3))->outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE token_hmac IN ('s4', 's5')"), 0);
}

TEST_F(PgAuthStoreTest, ReplayOutsideTheWindowOrAfterTheChainMovedOnRevokes) {
  // At the end of the window (it is [rotation, rotation + grace)).
  RotatedOnce(1, "w1");
  EXPECT_EQ(Rotate("w1", Token("w3"), now_ + absl::Seconds(30))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
  EXPECT_TRUE(Usable("w1-s"));  // not superseded, but its session is over
  EXPECT_EQ(Rotate("w1-s", Token("w4"), now_ + absl::Seconds(31))->outcome,
            RotateOutcome::kRevoked);

  // The successor was used.
  RotatedOnce(2, "u1");
  ASSERT_EQ(Rotate("u1-s", Token("u3"), now_ + absl::Seconds(1))->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(Rotate("u1", Token("u4"), now_ + absl::Seconds(2))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(2))->revoked);

  // Replays cannot extend the window: it counts from the first rotation.
  RotatedOnce(3, "e1");
  ASSERT_EQ(Rotate("e1", Token("e3"), now_ + absl::Seconds(20))->outcome,
            RotateOutcome::kGraceReplay);
  EXPECT_EQ(Rotate("e1", Token("e4"), now_ + absl::Seconds(30))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(3))->revoked);

  // No grace window.
  RotatedOnce(4, "z1");
  EXPECT_EQ(Rotate("z1", Token("z3"), now_, absl::ZeroDuration())->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(4))->revoked);

  // A logged-out session is not brought back by a replay.
  RotatedOnce(5, "l1");
  ASSERT_TRUE(store_->RevokeSessionByRefresh("l1-s", now_, "LOGOUT").ok());
  EXPECT_EQ(Rotate("l1", Token("l3"), now_ + absl::Seconds(1))->outcome, RotateOutcome::kReused);
  EXPECT_FALSE(Usable("l3"));

  // A token rotated before the grace migration (no recorded successor): a reuse.
  RotatedOnce(6, "o1");
  ASSERT_TRUE(pool_
                  ->WithTransaction([](pqxx::work& tx) {
                    tx.exec("UPDATE refresh_tokens SET replaced_by = NULL WHERE token_hmac = 'o1'");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Rotate("o1", Token("o3"), now_ + absl::Seconds(1))->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(store_->GetSessionState(Uuid(6))->revoked);
}

// Two replays of the same rotated token at once: the later supersedes the earlier, so exactly
// one successor is usable, nothing deadlocks and the session is not revoked.
TEST_F(PgAuthStoreTest, ConcurrentGraceReplaysEndWithOneSuccessor) {
  for (int round = 0; round < 10; ++round) {
    std::string sid = Uuid(200 + round);
    std::string first = absl::StrCat("c", round);
    RotatedOnce(200 + round, first);
    RotateOutcome outcomes[2];
    auto replay = [&](int t) {
      auto r = Rotate(first, Token(absl::StrCat(first, "-", t)), now_ + absl::Seconds(1));
      ASSERT_TRUE(r.ok()) << r.status();
      outcomes[t] = r->outcome;
    };
    RunTogether({[&] { replay(0); }, [&] { replay(1); }});
    EXPECT_EQ(outcomes[0], RotateOutcome::kGraceReplay) << "round " << round;
    EXPECT_EQ(outcomes[1], RotateOutcome::kGraceReplay) << "round " << round;
    EXPECT_FALSE(Usable(first + "-s"));
    EXPECT_EQ(Usable(first + "-0") + Usable(first + "-1"), 1) << "round " << round;
    EXPECT_FALSE(store_->GetSessionState(sid)->revoked) << "round " << round;
  }
}

// A replay of the old token racing the legitimate use of its successor (row locks taken in
// opposite chain order): no deadlock, exactly one succeeds, and the session ends either way —
// a replay that superseded the successor makes its use a reuse, a used successor makes the
// replay one.
TEST_F(PgAuthStoreTest, ReplayRacingTheSuccessorsUseRevokesWithoutDeadlock) {
  for (int round = 0; round < 10; ++round) {
    std::string sid = Uuid(300 + round);
    std::string first = absl::StrCat("x", round);
    RotatedOnce(300 + round, first);
    RotateOutcome replay = RotateOutcome::kUnknown, use = RotateOutcome::kUnknown;
    auto rotate = [&](const std::string& hmac, const std::string& next, RotateOutcome* out) {
      auto r = Rotate(hmac, Token(next), now_ + absl::Seconds(1));
      ASSERT_TRUE(r.ok()) << r.status();
      *out = r->outcome;
    };
    RunTogether({[&] { rotate(first, first + "-r", &replay); },
                 [&] { rotate(first + "-s", first + "-n", &use); }});
    const bool replay_first =
        replay == RotateOutcome::kGraceReplay && use == RotateOutcome::kReused;
    const bool use_first = use == RotateOutcome::kRotated && replay == RotateOutcome::kReused;
    EXPECT_TRUE(replay_first || use_first)
        << "round " << round << ": replay " << static_cast<int>(replay) << ", use "
        << static_cast<int>(use);
    EXPECT_TRUE(store_->GetSessionState(sid)->revoked) << "round " << round;
  }
}

TEST_F(PgAuthStoreTest, LogoutByAnyTokenOfTheFamily) {
  ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(1)), Token("a1")).ok());
  ASSERT_EQ(Rotate("a1", Token("a2"), now_)->outcome, RotateOutcome::kRotated);
  auto sid = store_->RevokeSessionByRefresh("a1", now_, "LOGOUT");
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(*sid, Uuid(1));
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
  EXPECT_EQ(*store_->RevokeSessionByRefresh("a2", now_, "LOGOUT"), Uuid(1));  // idempotent
  EXPECT_FALSE(store_->RevokeSessionByRefresh("zz", now_, "LOGOUT")->has_value());
  EXPECT_FALSE(store_->GetSessionState(Uuid(2))->exists);
  EXPECT_FALSE(store_->GetSessionState("garbage")->exists);
}

TEST_F(PgAuthStoreTest, RevokeSessionsOfAccountHonoursCutoffAndIsIdempotent) {
  constexpr char kOther[] = "6f1c2a3b-0000-4000-8000-0000000000ff";
  Session before = NewSession(Uuid(1));
  Session after = NewSession(Uuid(2));
  after.created_at = now_ + absl::Minutes(10);
  Session other = NewSession(Uuid(3));
  other.account_id = kOther;
  Session logged_out = NewSession(Uuid(4));
  Session expired = NewSession(Uuid(5), absl::Minutes(15));
  ASSERT_TRUE(store_->CreateSession(before, Token("t1")).ok());
  ASSERT_TRUE(store_->CreateSession(after, Token("t2")).ok());
  ASSERT_TRUE(store_->CreateSession(other, Token("t3")).ok());
  ASSERT_TRUE(store_->CreateSession(logged_out, Token("t4")).ok());
  ASSERT_TRUE(store_->CreateSession(expired, Token("t5")).ok());
  ASSERT_TRUE(store_->RevokeSessionByRefresh("t4", now_, "LOGOUT").ok());

  const absl::Time at = now_ + absl::Minutes(20);
  auto revoked = store_->RevokeSessionsOfAccount(
      absl::AsciiStrToUpper(kAccount), now_ + absl::Minutes(5), at, "PASSWORD_CHANGED");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, (std::vector<std::string>{Uuid(1)}));
  EXPECT_TRUE(store_->GetSessionState(Uuid(1))->revoked);
  EXPECT_FALSE(store_->GetSessionState(Uuid(2))->revoked);  // began after the cutoff
  EXPECT_FALSE(store_->GetSessionState(Uuid(3))->revoked);  // another account
  EXPECT_FALSE(store_->GetSessionState(Uuid(5))->revoked);  // already over
  EXPECT_EQ(Rotate("t1", Token("t1b"), at)->outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(Rotate("t2", Token("t2b"), at)->outcome, RotateOutcome::kRotated);

  std::map<std::string, std::string> reasons;
  ASSERT_TRUE(pool_
                  ->WithReadOnly([&](pqxx::work& tx) {
                    for (const auto& row : tx.exec(
                             "SELECT session_id::text, revoke_reason FROM sessions "
                             "WHERE revoke_reason IS NOT NULL")) {
                      reasons[row[0].as<std::string>()] = row[1].as<std::string>();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{{Uuid(1), "PASSWORD_CHANGED"},
                                                         {Uuid(4), "LOGOUT"}}));

  // Again: nothing left to revoke.
  revoked = store_->RevokeSessionsOfAccount(kAccount, now_ + absl::Minutes(5),
                                            at + absl::Minutes(1), "PASSWORD_CHANGED");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->empty());
  EXPECT_TRUE(store_->RevokeSessionsOfAccount("garbage", at, at, "X")->empty());
}

TEST_F(PgAuthStoreTest, PurgeKeepsLiveDataAndHistory) {
  ASSERT_TRUE(store_->CreateSession(NewSession(Uuid(1), absl::Hours(1)), Token("old")).ok());
  ASSERT_TRUE(
      store_->CreateSession(NewSession(Uuid(2), absl::Hours(48)), Token("live", absl::Hours(48)))
          .ok());
  ASSERT_TRUE(
      store_->AppendLoginRecord(LoginRecord{kAccount, now_, "PASSWORD_OTP", true, "", "", "", ""})
          .ok());
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"stale", "trusted"},
                                    [&](std::vector<ThrottleState>& s) {
                                      s[0].failures = 3;
                                      s[0].last_failure_at = now_;
                                      s[1].last_success_at = now_ + absl::Hours(24);
                                      return absl::OkStatus();
                                    })
                  .ok());
  auto n = store_->PurgeExpired(now_ + absl::Hours(26), absl::Hours(1), absl::Hours(24 * 30));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_FALSE(store_->GetSessionState(Uuid(1))->exists);
  EXPECT_TRUE(store_->GetSessionState(Uuid(2))->exists);
  EXPECT_EQ(store_->ListLoginRecords(kAccount, 10)->size(), 1u);
  ASSERT_TRUE(store_
                  ->UpdateThrottles({"stale", "trusted"},
                                    [&](std::vector<ThrottleState>& s) {
                                      EXPECT_EQ(s[0].failures,
                                                0);  // deleted, comes back as a zero state
                                      EXPECT_TRUE(s[1].last_success_at.has_value());
                                      return absl::OkStatus();
                                    })
                  .ok());
}

}  // namespace
}  // namespace dvc::auth
