#include "services/auth/adapters/key_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/jwt/json.h"
#include "libs/jwt/jwt.h"
#include "services/auth/domain/introspector.h"
#include "services/auth/domain/testing/fakes.h"

namespace dvc::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStart = 1800000000;

class KeyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = absl::StrCat(tmp ? tmp : "/tmp", "/keys_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void SetMtime(const std::string& path, absl::Time t) {
    time_t s = static_cast<time_t>(absl::ToUnixSeconds(t));
    struct utimbuf u {
      s, s
    };
    ASSERT_EQ(::utime(path.c_str(), &u), 0);
  }
  // Writes a key file whose kid is derived from `kid_time` and whose mtime is `mtime`.
  std::string AddKey(absl::Time kid_time, absl::Time mtime) {
    fs::create_directories(root_);
    auto kid = KeyDirectory::GenerateKeyFile(root_, kid_time, &random_);
    EXPECT_TRUE(kid.ok()) << kid.status();
    if (!kid.ok()) return "";
    SetMtime(KeyPath(*kid), mtime);
    return *kid;
  }
  std::string KeyPath(const std::string& kid) { return absl::StrCat(root_, "/", kid, ".pem"); }
  std::unique_ptr<KeyDirectory> OpenDir(Clock* clock, KeyDirOptions options = {}) {
    auto kd = KeyDirectory::Open(root_, options, clock, &random_);
    EXPECT_TRUE(kd.ok()) << kd.status();
    return kd.ok() ? *std::move(kd) : nullptr;
  }

  std::string root_;
  crypto::OsRandom random_;
  FakeClock clock_{absl::FromUnixSeconds(kStart)};
};

TEST_F(KeyDirTest, AutogenerateCreatesTheDirectoryAndAFirstKey) {
  std::string dir = root_ + "/nested/keys";
  auto kd = KeyDirectory::Open(dir, {.autogenerate = true}, &clock_, &random_);
  ASSERT_TRUE(kd.ok()) << kd.status();
  auto keys = (*kd)->Keys();
  ASSERT_EQ(keys->keys.size(), 1u);
  EXPECT_EQ(keys->signer, keys->keys[0].get());  // a lone new key signs at once
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  std::string file = absl::StrCat(dir, "/", keys->signer->kid(), ".pem");
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // Opening again reuses the key (autogeneration only fills an empty directory).
  auto again = KeyDirectory::Open(dir, {.autogenerate = true}, &clock_, &random_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Keys()->signer->kid(), keys->signer->kid());
  EXPECT_EQ((*again)->Keys()->keys.size(), 1u);
}

TEST_F(KeyDirTest, WithoutKeysAndWithoutAutogenerateOpenFailsAndWritesNothing) {
  std::string missing = root_ + "/missing";
  auto kd = KeyDirectory::Open(missing, {}, &clock_, &random_);
  ASSERT_FALSE(kd.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(kd.status())) << kd.status();
  EXPECT_FALSE(fs::exists(missing));

  fs::create_directories(root_);
  std::ofstream(root_ + "/README") << "not a key";
  kd = KeyDirectory::Open(root_, {}, &clock_, &random_);
  ASSERT_FALSE(kd.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(kd.status())) << kd.status();
  EXPECT_TRUE(absl::StrContains(kd.status().message(), "no *.pem key")) << kd.status();
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_)) entries += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(entries, 1);  // no key was generated
}

TEST_F(KeyDirTest, NewKeyVerifiesAtOnceButSignsOnlyAfterThePublishDelay) {
  const absl::Time t0 = clock_.Now();
  std::string old_kid = AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto kd = OpenDir(&clock_);
  ASSERT_NE(kd, nullptr);
  EXPECT_EQ(kd->Keys()->signer->kid(), old_kid);  // mtime is old: signs at once
  auto old_token = jwt::Sign(*kd->Keys()->signer, "{\"sub\":\"x\"}");
  ASSERT_TRUE(old_token.ok());

  std::string new_kid = AddKey(t0, t0);
  EXPECT_EQ(kd->Keys()->keys.size(), 1u);  // not before Reload
  ASSERT_TRUE(kd->Reload().ok());
  auto keys = kd->Keys();
  ASSERT_EQ(keys->keys.size(), 2u);
  EXPECT_EQ(keys->signer->kid(), old_kid);
  EXPECT_TRUE(absl::StrContains(keys->jwks_json, new_kid));  // published before signing
  EXPECT_TRUE(absl::StrContains(keys->jwks_json, old_kid));

  clock_.Advance(absl::Minutes(2) - absl::Seconds(1));
  EXPECT_EQ(kd->Keys()->signer->kid(), old_kid);
  clock_.Advance(absl::Seconds(1));
  keys = kd->Keys();
  EXPECT_EQ(keys->signer->kid(), new_kid);
  EXPECT_TRUE(keys->verifier.Verify(*old_token).ok());
}

TEST_F(KeyDirTest, VisibilityCountsFromFirstSightWhenTheMtimeIsLater) {
  // A file whose mtime lies in the future (clock skew, or a Secret volume rewrite) still signs
  // after publish_delay from when this process first saw it.
  const absl::Time t0 = clock_.Now();
  std::string old_kid = AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto kd = OpenDir(&clock_);
  ASSERT_NE(kd, nullptr);
  std::string new_kid = AddKey(t0, t0 + absl::Hours(1));
  ASSERT_TRUE(kd->Reload().ok());
  EXPECT_EQ(kd->Keys()->signer->kid(), old_kid);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(kd->Keys()->signer->kid(), new_kid);
  // A later rewrite of every file (new mtimes) does not restart the delay nor reorder keys.
  SetMtime(KeyPath(old_kid), clock_.Now());
  SetMtime(KeyPath(new_kid), clock_.Now());
  ASSERT_TRUE(kd->Reload().ok());
  EXPECT_EQ(kd->Keys()->signer->kid(), new_kid);
}

TEST_F(KeyDirTest, FreshInstallTheOldestSignsUntilANewerKeyIsOldEnough) {
  // Secret volume on a new pod: every file has the same, recent mtime; kids sort by time.
  const absl::Time t0 = clock_.Now();
  std::string k1 = AddKey(t0 - absl::Hours(48), t0);
  std::string k2 = AddKey(t0 - absl::Hours(1), t0);
  ASSERT_LT(k1, k2);
  auto kd = OpenDir(&clock_);
  ASSERT_NE(kd, nullptr);
  EXPECT_EQ(kd->Keys()->signer->kid(), k1);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(kd->Keys()->signer->kid(), k2);
}

TEST_F(KeyDirTest, SignerSwitchKeepsTheVerificationVersion) {
  const absl::Time t0 = clock_.Now();
  AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto kd = OpenDir(&clock_);
  ASSERT_NE(kd, nullptr);
  uint64_t v1 = kd->Keys()->version;
  std::string new_kid = AddKey(t0, t0);
  ASSERT_TRUE(kd->Reload().ok());
  uint64_t v2 = kd->Keys()->version;
  EXPECT_NE(v2, v1);  // a new key: verified-token caches must not be reused blindly
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(kd->Keys()->signer->kid(), new_kid);
  EXPECT_EQ(kd->Keys()->version, v2);  // only the signer changed
}

TEST_F(KeyDirTest, RemovedKeyStopsVerifyingAfterReload) {
  const absl::Time t0 = clock_.Now();
  std::string k1 = AddKey(t0 - absl::Hours(48), t0 - absl::Hours(48));
  std::string k2 = AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto kd = OpenDir(&clock_);
  ASSERT_NE(kd, nullptr);
  EXPECT_EQ(kd->Keys()->signer->kid(), k2);
  auto k1_key = jwt::SigningKey::FromPem(k1, [&] {
    std::ifstream in(KeyPath(k1));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  ASSERT_TRUE(k1_key.ok());
  auto token = jwt::Sign(*k1_key, "{\"sub\":\"x\"}");
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(kd->Keys()->verifier.Verify(*token).ok());

  fs::remove(KeyPath(k1));
  EXPECT_TRUE(kd->Keys()->verifier.Verify(*token).ok());  // until the next reload
  ASSERT_TRUE(kd->Reload().ok());
  auto keys = kd->Keys();
  ASSERT_EQ(keys->keys.size(), 1u);
  EXPECT_FALSE(keys->verifier.Verify(*token).ok());
  EXPECT_FALSE(absl::StrContains(keys->jwks_json, k1));
  EXPECT_EQ(keys->signer->kid(), k2);
  // An unknown-kid refresh does not bring it back.
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(kd->RefreshForUnknownKid(*keys));
  EXPECT_FALSE(kd->Keys()->verifier.Verify(*token).ok());
}

TEST_F(KeyDirTest, BadFileFailsOpenAndReloadKeepsThePreviousKeys) {
  fs::create_directories(root_);
  std::ofstream(root_ + "/broken.pem") << "-----BEGIN PRIVATE KEY-----\nnope\n";
  EXPECT_FALSE(KeyDirectory::Open(root_, {.autogenerate = true}, &clock_, &random_).ok());
  fs::remove(root_ + "/broken.pem");
  auto kd = OpenDir(&clock_, {.autogenerate = true});
  ASSERT_NE(kd, nullptr);
  std::string kid = kd->Keys()->signer->kid();
  std::ofstream(root_ + "/broken.pem") << "garbage";
  EXPECT_FALSE(kd->Reload().ok());
  EXPECT_EQ(kd->Keys()->signer->kid(), kid);
  EXPECT_EQ(kd->Keys()->keys.size(), 1u);
}

// ---- two replicas sharing one directory, with introspection ----

class TwoReplicasTest : public KeyDirTest {
 protected:
  void SetUp() override {
    KeyDirTest::SetUp();
    Session s;
    s.session_id = "sess-1";
    s.account_id = "acc-1";
    s.expires_at = clock_.Now() + absl::Hours(12);
    ASSERT_TRUE(store_
                    .CreateSession(s, RefreshRecord{"h1", "sess-1", clock_.Now(),
                                                    clock_.Now() + absl::Minutes(30)})
                    .ok());
  }
  std::string Token(const KeySet& keys) {
    int64_t now = absl::ToUnixSeconds(clock_.Now());
    jwt::JsonObjectBuilder c;
    c.String("iss", "https://iss")
        .String("sub", "acc-1")
        .String("aud", "dvc")
        .Int("exp", now + 300)
        .Int("iat", now)
        .String("jti", "j1")
        .String("sid", "sess-1");
    auto t = jwt::Sign(*keys.signer, c.Build());
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : "";
  }
  std::unique_ptr<Introspector> NewIntrospector(KeySource* keys) {
    return std::make_unique<Introspector>(
        keys, &store_, &clock_, IntrospectOptions{.issuer = "https://iss", .audience = "dvc"});
  }

  testing::FakeAuthStore store_;
};

TEST_F(TwoReplicasTest, RotationNeverProducesTokensTheOtherReplicaRejects) {
  const absl::Time t0 = clock_.Now();
  std::string old_kid = AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto a = OpenDir(&clock_);
  auto b = OpenDir(&clock_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto introspect_a = NewIntrospector(a.get());
  auto introspect_b = NewIntrospector(b.get());

  // A new key appears; replica A sees it first.
  std::string new_kid = AddKey(t0, t0);
  ASSERT_TRUE(a->Reload().ok());
  ASSERT_EQ(a->Keys()->keys.size(), 2u);
  ASSERT_EQ(b->Keys()->keys.size(), 1u);

  // During the publish delay A still signs with the old key, which B verifies.
  for (absl::Duration d : {absl::ZeroDuration(), absl::Seconds(60), absl::Seconds(119)}) {
    clock_.Set(t0 + d);
    auto keys = a->Keys();
    EXPECT_EQ(keys->signer->kid(), old_kid) << d;
    std::string token = Token(*keys);
    EXPECT_TRUE(introspect_b->Introspect(token).active) << d;
    EXPECT_TRUE(introspect_a->Introspect(token).active) << d;
  }
  EXPECT_EQ(b->Keys()->keys.size(), 1u);  // B never needed to reload

  // After the delay A signs with the new key; B has not reloaded yet but accepts the token
  // thanks to the unknown-kid reload, and then signs with the new key as well (its mtime is old
  // enough).
  clock_.Set(t0 + absl::Minutes(2));
  auto a_keys = a->Keys();
  ASSERT_EQ(a_keys->signer->kid(), new_kid);
  std::string token = Token(*a_keys);
  EXPECT_EQ(b->Keys()->keys.size(), 1u);
  Introspection r = introspect_b->Introspect(token);
  EXPECT_TRUE(r.active);
  EXPECT_EQ(r.sub, "acc-1");
  auto b_keys = b->Keys();
  EXPECT_EQ(b_keys->keys.size(), 2u);
  EXPECT_EQ(b_keys->signer->kid(), new_kid);
  EXPECT_TRUE(introspect_a->Introspect(Token(*b_keys)).active);
  EXPECT_TRUE(introspect_a->Introspect(token).active);
}

TEST_F(TwoReplicasTest, UnknownKidReloadIsRateLimited) {
  const absl::Time t0 = clock_.Now();
  AddKey(t0 - absl::Hours(24), t0 - absl::Hours(24));
  auto b = OpenDir(&clock_);
  ASSERT_NE(b, nullptr);
  auto introspect_b = NewIntrospector(b.get());
  auto before = b->Keys();

  // A forged kid costs one directory read, then nothing for 5 s.
  auto stranger = jwt::SigningKey::Generate("stranger");
  ASSERT_TRUE(stranger.ok());
  auto stranger_set = MakeKeySet({std::make_shared<const jwt::SigningKey>(*stranger)});
  ASSERT_TRUE(stranger_set.ok());
  EXPECT_FALSE(introspect_b->Introspect(Token(**stranger_set)).active);  // reload #1, no change

  // A replica-A key appears (old enough to sign on A) right after that reload.
  std::string new_kid = AddKey(t0, t0 - absl::Minutes(10));
  auto a = OpenDir(&clock_);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->Keys()->signer->kid(), new_kid);
  std::string token = Token(*a->Keys());

  clock_.Advance(absl::Seconds(4));
  EXPECT_FALSE(introspect_b->Introspect(token).active);  // rate-limited: no reload
  EXPECT_FALSE(b->RefreshForUnknownKid(*b->Keys()));
  EXPECT_EQ(b->Keys()->keys.size(), 1u);

  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(introspect_b->Introspect(token).active);  // 5 s later: reloaded
  EXPECT_EQ(b->Keys()->keys.size(), 2u);

  // The next unknown kid right after is again limited, even though nothing is pending.
  auto keys = b->Keys();
  EXPECT_FALSE(b->RefreshForUnknownKid(*keys));
  // A caller holding an outdated snapshot is told to retry (without another read).
  EXPECT_TRUE(b->RefreshForUnknownKid(*before));
}

}  // namespace
}  // namespace dvc::auth
