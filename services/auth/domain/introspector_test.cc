#include "services/auth/domain/introspector.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/crypto/encoding.h"
#include "libs/jwt/json.h"
#include "libs/jwt/jwt.h"
#include "services/auth/domain/testing/fakes.h"

namespace dvc::auth {
namespace {

using ::dvc::auth::testing::FakeAuthStore;

std::shared_ptr<const jwt::SigningKey> NewKey(const std::string& kid) {
  auto k = jwt::SigningKey::Generate(kid);
  EXPECT_TRUE(k.ok());
  return std::make_shared<const jwt::SigningKey>(*k);
}

class IntrospectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = NewKey("k1");
    auto set = MakeKeySet({key_});
    ASSERT_TRUE(set.ok());
    keys_ = std::make_unique<StaticKeySource>(*set);
    introspector_ = std::make_unique<Introspector>(
        keys_.get(), &store_, &clock_,
        IntrospectOptions{.issuer = "https://iss", .audience = "dvc"});
    Session s;
    s.session_id = "sess-1";
    s.account_id = "acc-1";
    s.expires_at = clock_.Now() + absl::Hours(12);
    ASSERT_TRUE(store_
                    .CreateSession(s, RefreshRecord{"h1", "sess-1", clock_.Now(),
                                                    clock_.Now() + absl::Minutes(30)})
                    .ok());
  }

  jwt::JsonObjectBuilder Claims() {
    int64_t now = absl::ToUnixSeconds(clock_.Now());
    jwt::JsonObjectBuilder c;
    c.String("iss", "https://iss")
        .String("sub", "acc-1")
        .String("aud", "dvc")
        .Int("exp", now + 300)
        .Int("iat", now)
        .String("jti", "j1")
        .String("sid", "sess-1")
        .String("acr", "urn:dvc:ial:2")
        .StringArray("amr", {"pwd", "otp"});
    return c;
  }
  std::string Token(const jwt::JsonObjectBuilder& c, const jwt::SigningKey* key = nullptr) {
    auto t = jwt::Sign(key ? *key : *key_, c.Build());
    EXPECT_TRUE(t.ok());
    return *t;
  }

  FakeClock clock_;
  FakeAuthStore store_;
  std::shared_ptr<const jwt::SigningKey> key_;
  std::unique_ptr<StaticKeySource> keys_;
  std::unique_ptr<Introspector> introspector_;
};

TEST_F(IntrospectorTest, ValidTokenIsActiveWithItsClaims) {
  Introspection i = introspector_->Introspect(Token(Claims()));
  ASSERT_TRUE(i.active);
  EXPECT_EQ(i.sub, "acc-1");
  EXPECT_EQ(i.session_id, "sess-1");
  EXPECT_EQ(i.acr, "urn:dvc:ial:2");
  EXPECT_EQ(i.exp, absl::ToUnixSeconds(clock_.Now()) + 300);
  EXPECT_EQ(i.iat, absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(i.amr, (std::vector<std::string>{"pwd", "otp"}));
}

TEST_F(IntrospectorTest, ExpiredTokenIsInactiveEvenWhenCached) {
  std::string t = Token(Claims());
  ASSERT_TRUE(introspector_->Introspect(t).active);
  clock_.Advance(absl::Seconds(299));
  EXPECT_TRUE(introspector_->Introspect(t).active);
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(introspector_->Introspect(t).active);
}

TEST_F(IntrospectorTest, TamperedTokenIsInactiveAlthoughTheOriginalIsCached) {
  std::string t = Token(Claims());
  ASSERT_TRUE(introspector_->Introspect(t).active);
  // Re-encode the payload with another subject, keep header and signature.
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  std::string payload = *crypto::Base64UrlDecode(t.substr(d1 + 1, d2 - d1 - 1));
  payload.replace(payload.find("acc-1"), 5, "acc-2");
  std::string forged =
      absl::StrCat(t.substr(0, d1 + 1), crypto::Base64UrlEncode(payload), t.substr(d2));
  EXPECT_FALSE(introspector_->Introspect(forged).active);
  // A flipped signature character.
  std::string bad_sig = t;
  bad_sig[bad_sig.size() - 3] = bad_sig[bad_sig.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(introspector_->Introspect(bad_sig).active);
  EXPECT_FALSE(introspector_->Introspect("").active);
  EXPECT_FALSE(introspector_->Introspect("not.a.jwt").active);
}

TEST_F(IntrospectorTest, TokenSignedByUnknownKeyIsInactive) {
  auto other = NewKey("k1");  // even with a known kid
  EXPECT_FALSE(introspector_->Introspect(Token(Claims(), other.get())).active);
  auto stranger = NewKey("k9");
  EXPECT_FALSE(introspector_->Introspect(Token(Claims(), stranger.get())).active);
}

TEST_F(IntrospectorTest, WrongIssuerAudienceOrMissingClaimsAreInactive) {
  EXPECT_FALSE(introspector_->Introspect(Token(Claims().String("iss", "https://evil"))).active);
  EXPECT_FALSE(introspector_->Introspect(Token(Claims().String("aud", "other"))).active);
  EXPECT_FALSE(introspector_->Introspect(Token(Claims().Null("sid"))).active);
  EXPECT_FALSE(introspector_->Introspect(Token(Claims().String("exp", "soon"))).active);
  EXPECT_FALSE(introspector_->Introspect(Token(Claims().String("sid", "no-such-session"))).active);
}

TEST_F(IntrospectorTest, RevocationElsewhereIsSeenAfterTheCacheTtl) {
  std::string t = Token(Claims());
  ASSERT_TRUE(introspector_->Introspect(t).active);
  store_.RevokeSession("sess-1", clock_.Now());      // another replica logged the user out
  EXPECT_TRUE(introspector_->Introspect(t).active);  // within the 1 s bound
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(introspector_->Introspect(t).active);
}

TEST_F(IntrospectorTest, LocalRevocationIsImmediate) {
  std::string t = Token(Claims());
  ASSERT_TRUE(introspector_->Introspect(t).active);
  // What Logout does: revoke in the store, then tell the local cache.
  store_.RevokeSession("sess-1", clock_.Now());
  introspector_->ForgetSession("sess-1");
  EXPECT_FALSE(introspector_->Introspect(t).active);  // no TTL wait
  clock_.Advance(absl::Seconds(5));
  EXPECT_FALSE(introspector_->Introspect(t).active);  // and the store agrees afterwards
}

TEST_F(IntrospectorTest, OneSessionQueryPerTtl) {
  std::string t = Token(Claims());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(introspector_->Introspect(t).active);
  EXPECT_EQ(store_.session_state_queries(), 1);
  clock_.Advance(absl::Seconds(1));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(introspector_->Introspect(t).active);
  EXPECT_EQ(store_.session_state_queries(), 2);
}

TEST_F(IntrospectorTest, StoreFailureFailsClosed) {
  store_.set_fail_session_state(true);
  EXPECT_FALSE(introspector_->Introspect(Token(Claims())).active);
}

TEST_F(IntrospectorTest, SessionPastItsAbsoluteExpiryIsInactive) {
  std::string t = Token(Claims().Int("exp", absl::ToUnixSeconds(clock_.Now()) + 86400));
  ASSERT_TRUE(introspector_->Introspect(t).active);
  clock_.Advance(absl::Hours(12));
  EXPECT_FALSE(introspector_->Introspect(t).active);
}

TEST_F(IntrospectorTest, RotatedKeysStillVerifyOldTokensAndDroppedKeysDoNot) {
  std::string old_token = Token(Claims());
  ASSERT_TRUE(introspector_->Introspect(old_token).active);
  auto k2 = NewKey("k2");
  keys_ = nullptr;
  auto both = MakeKeySet({key_, k2});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ((*both)->signer->kid(), "k2");
  StaticKeySource rotated(*both);
  Introspector with_both(&rotated, &store_, &clock_, {.issuer = "https://iss", .audience = "dvc"});
  EXPECT_TRUE(with_both.Introspect(old_token).active);
  EXPECT_TRUE(with_both.Introspect(Token(Claims(), k2.get())).active);
  auto only_new = MakeKeySet({k2});
  StaticKeySource dropped(*only_new);
  Introspector with_new(&dropped, &store_, &clock_, {.issuer = "https://iss", .audience = "dvc"});
  EXPECT_FALSE(with_new.Introspect(old_token).active);
}

// A source whose next snapshot appears only when asked to refresh for an unknown kid.
class RefreshingKeySource final : public KeySource {
 public:
  RefreshingKeySource(std::shared_ptr<const KeySet> now, std::shared_ptr<const KeySet> next)
      : now_(std::move(now)), next_(std::move(next)) {}
  std::shared_ptr<const KeySet> Keys() override { return now_; }
  bool RefreshForUnknownKid(const KeySet& seen) override {
    ++refreshes;
    if (seen.version != now_->version) return true;
    if (next_ == nullptr) return false;
    now_ = std::move(next_);
    return true;
  }
  int refreshes = 0;

 private:
  std::shared_ptr<const KeySet> now_, next_;
};

TEST_F(IntrospectorTest, UnknownKidRefreshesTheKeysOnceAndRetries) {
  auto k2 = NewKey("k2");
  auto only_old = MakeKeySet({key_});
  auto both = MakeKeySet({key_, k2});
  ASSERT_TRUE(only_old.ok() && both.ok());
  RefreshingKeySource source(*only_old, *both);
  Introspector in(&source, &store_, &clock_, {.issuer = "https://iss", .audience = "dvc"});

  // Known kid, bad signature: no refresh.
  std::string good = Token(Claims());
  std::string tampered = good.substr(0, good.size() - 2) + (good.back() == 'A' ? "BB" : "AA");
  EXPECT_FALSE(in.Introspect(tampered).active);
  EXPECT_EQ(source.refreshes, 0);
  EXPECT_TRUE(in.Introspect(good).active);
  EXPECT_EQ(source.refreshes, 0);

  // Unknown kid: one refresh, then the retry succeeds; afterwards no more refreshes.
  std::string from_other_replica = Token(Claims(), k2.get());
  EXPECT_TRUE(in.Introspect(from_other_replica).active);
  EXPECT_EQ(source.refreshes, 1);
  EXPECT_TRUE(in.Introspect(from_other_replica).active);
  EXPECT_EQ(source.refreshes, 1);

  // A kid nobody has: one refresh (which finds nothing), then inactive.
  std::string stranger = Token(Claims(), NewKey("k3").get());
  EXPECT_FALSE(in.Introspect(stranger).active);
  EXPECT_EQ(source.refreshes, 2);
}

TEST_F(IntrospectorTest, TryIntrospectNeverQueriesTheStoreAndAgreesWithIntrospect) {
  std::string t = Token(Claims());
  // Session state not cached yet: no answer, and no query.
  EXPECT_FALSE(introspector_->TryIntrospect(t).has_value());
  EXPECT_EQ(store_.session_state_queries(), 0);
  ASSERT_TRUE(introspector_->Introspect(t).active);
  EXPECT_EQ(store_.session_state_queries(), 1);
  // Now cached: the same claims from memory.
  auto fast = introspector_->TryIntrospect(t);
  ASSERT_TRUE(fast.has_value());
  EXPECT_TRUE(fast->active);
  EXPECT_EQ(fast->sub, "acc-1");
  EXPECT_EQ(fast->amr, (std::vector<std::string>{"pwd", "otp"}));
  // Invalid tokens are answered without the store whatever the cache holds.
  auto bad = introspector_->TryIntrospect("not.a.jwt");
  ASSERT_TRUE(bad.has_value());
  EXPECT_FALSE(bad->active);
  // A local revocation is answered at once; a stale entry needs the store again.
  introspector_->ForgetSession("sess-1");
  ASSERT_TRUE(introspector_->TryIntrospect(t).has_value());
  EXPECT_FALSE(introspector_->TryIntrospect(t)->active);
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(introspector_->TryIntrospect(t).has_value());
  EXPECT_EQ(store_.session_state_queries(), 1);
}

TEST_F(IntrospectorTest, TryIntrospectLeavesUnknownKidsToIntrospect) {
  auto k2 = NewKey("k2");
  auto only_old = MakeKeySet({key_});
  auto both = MakeKeySet({key_, k2});
  ASSERT_TRUE(only_old.ok() && both.ok());
  RefreshingKeySource source(*only_old, *both);
  Introspector in(&source, &store_, &clock_, {.issuer = "https://iss", .audience = "dvc"});
  std::string from_other_replica = Token(Claims(), k2.get());
  EXPECT_FALSE(in.TryIntrospect(from_other_replica).has_value());
  EXPECT_EQ(source.refreshes, 0);
  EXPECT_TRUE(in.Introspect(from_other_replica).active);
  EXPECT_EQ(source.refreshes, 1);
  ASSERT_TRUE(in.TryIntrospect(from_other_replica).has_value());
  EXPECT_TRUE(in.TryIntrospect(from_other_replica)->active);
}

TEST(MakeKeySetTest, RejectsEmptyAndDuplicateKids) {
  EXPECT_FALSE(MakeKeySet({}).ok());
  auto a = NewKey("same"), b = NewKey("same");
  EXPECT_FALSE(MakeKeySet({a, b}).ok());
  auto set = MakeKeySet({a});
  ASSERT_TRUE(set.ok());
  EXPECT_NE((*set)->jwks_json.find("\"kid\":\"same\""), std::string::npos);
}

TEST(MakeKeySetTest, WithSignerKeepsKeysAndVersion) {
  auto a = NewKey("a"), b = NewKey("b");
  auto set = MakeKeySet({a, b});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->signer->kid(), "b");
  auto first = WithSigner(**set, 0);
  EXPECT_EQ(first->signer->kid(), "a");
  EXPECT_EQ(first->version, (*set)->version);
  EXPECT_EQ(first->jwks_json, (*set)->jwks_json);
  auto t = jwt::Sign(*b, "{}");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(first->verifier.Verify(*t).ok());
  EXPECT_EQ(WithSigner(**set, 7)->signer->kid(), "b");  // clamped
}

}  // namespace
}  // namespace dvc::auth
