#include <gtest/gtest.h>

#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/captcha_issuer/test_migrations.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/status/errors.h"

namespace dvc::captcha {
namespace {

class CaptchaIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("captcha");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 2});
    ASSERT_TRUE(pg::Migrate(*pool_, test_migrations::Files()).ok());
    checker_ = NewPgCaptchaChecker(pool_.get(), &clock_, &random_, "k",
                                   IssuerOptions{.ttl = absl::Minutes(5), .expose_answer = true});
  }
  FakeClock clock_{absl::Now()};
  crypto::OsRandom random_;
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<CaptchaChecker> checker_;
};

TEST_F(CaptchaIssuerTest, RightAnswerPassesOnceCaseInsensitively) {
  auto c = checker_->Issue();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->png.substr(1, 3), "PNG");
  std::string lower = c->dev_answer;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
  EXPECT_TRUE(checker_->Verify(c->captcha_id, " " + lower + " ").ok());
  EXPECT_EQ(status::ReasonOf(checker_->Verify(c->captcha_id, c->dev_answer)), "CAPTCHA_INVALID");
}

TEST_F(CaptchaIssuerTest, WrongAnswerConsumesTheChallenge) {
  auto c = checker_->Issue();
  ASSERT_TRUE(c.ok());
  absl::Status s = checker_->Verify(c->captcha_id, "ZZZZZZZ");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::GetErrorInfo(s)->field, "captcha_answer");
  EXPECT_EQ(status::ReasonOf(checker_->Verify(c->captcha_id, c->dev_answer)), "CAPTCHA_INVALID");
}

TEST_F(CaptchaIssuerTest, ExpiredAndUnknownAndEmpty) {
  auto c = checker_->Issue();
  ASSERT_TRUE(c.ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(status::ReasonOf(checker_->Verify(c->captcha_id, c->dev_answer)), "CAPTCHA_EXPIRED");
  EXPECT_EQ(status::ReasonOf(checker_->Verify("no-such-id", "ABCDE")), "CAPTCHA_INVALID");
  EXPECT_EQ(status::ReasonOf(checker_->Verify("", "ABCDE")), "CAPTCHA_REQUIRED");
  EXPECT_EQ(status::ReasonOf(checker_->Verify("x", "  ")), "CAPTCHA_REQUIRED");
}

TEST_F(CaptchaIssuerTest, PurgeDeletesOnlyExpiredChallenges) {
  auto old = checker_->Issue();
  ASSERT_TRUE(old.ok());
  clock_.Advance(absl::Minutes(10));
  auto fresh = checker_->Issue();
  ASSERT_TRUE(fresh.ok());
  auto n = PurgeExpiredCaptchas(pool_.get(), clock_.Now());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(checker_->Verify(fresh->captcha_id, fresh->dev_answer).ok());
}

TEST_F(CaptchaIssuerTest, AnswerIsHiddenUnlessExposed) {
  auto hidden = NewPgCaptchaChecker(pool_.get(), &clock_, &random_, "k", IssuerOptions{});
  auto c = hidden->Issue();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->dev_answer.empty());
}

}  // namespace
}  // namespace dvc::captcha
