#include "libs/crypto/password.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/testing/fake_random.h"

namespace dvc::crypto {
namespace {

using ::dvc::crypto::testing::FakeRandom;

// Small parameters keep the tests fast; one test uses the production defaults.
Argon2Params Fast() {
  Argon2Params p;
  p.m_kib = 64;
  p.t = 1;
  return p;
}

TEST(PasswordTest, DefaultParamsFormatAndRoundTrip) {
  OsRandom r;
  auto phc = HashPassword("Mật khẩu@2024", Argon2Params{}, r);
  ASSERT_TRUE(phc.ok()) << phc.status();
  EXPECT_EQ(phc->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *phc;
  std::vector<std::string> parts = absl::StrSplit(*phc, '$');
  ASSERT_EQ(parts.size(), 6u);
  EXPECT_EQ(parts[4].size(), 22u);  // 16-byte salt, unpadded base64
  EXPECT_EQ(parts[5].size(), 43u);  // 32-byte hash
  EXPECT_TRUE(*VerifyPassword("Mật khẩu@2024", *phc));
  EXPECT_FALSE(*VerifyPassword("Mật khẩu@2025", *phc));
  EXPECT_FALSE(NeedsRehash(*phc, Argon2Params{}));
}

TEST(PasswordTest, KnownAnswersFromIndependentImplementation) {
  // Argon2id vectors from libar2's test suite (password "password", salt "somesalt"); they match
  // the phc-winner-argon2 reference implementation.
  for (const char* phc : {
           "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
           "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
           "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
       }) {
    auto ok = VerifyPassword("password", phc);
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_TRUE(*ok) << phc;
    EXPECT_FALSE(*VerifyPassword("Password", phc)) << phc;
  }
  EXPECT_FALSE(*VerifyPassword(
      "password",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"));
  EXPECT_TRUE(*VerifyPassword(
      "differentpassword",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"));
}

TEST(PasswordTest, SaltsDifferAndWrongPasswordFails) {
  FakeRandom r(1);
  auto a = HashPassword("hunter2", Fast(), r);
  auto b = HashPassword("hunter2", Fast(), r);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(*VerifyPassword("hunter2", *a));
  EXPECT_TRUE(*VerifyPassword("hunter2", *b));
  EXPECT_FALSE(*VerifyPassword("hunter3", *a));
  EXPECT_FALSE(*VerifyPassword("", *a));
  EXPECT_FALSE(*VerifyPassword(std::string("hunter2\0", 8), *a));
}

TEST(PasswordTest, EmptyPasswordHashes) {
  FakeRandom r;
  auto h = HashPassword("", Fast(), r);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(*VerifyPassword("", *h));
  EXPECT_FALSE(*VerifyPassword("x", *h));
}

TEST(PasswordTest, SameSaltSameHashDeterministic) {
  FakeRandom r1(5), r2(5);
  EXPECT_EQ(*HashPassword("pw", Fast(), r1), *HashPassword("pw", Fast(), r2));
}

TEST(PasswordTest, TamperedHashOrSaltFails) {
  FakeRandom r;
  std::string phc = *HashPassword("secret", Fast(), r);
  std::vector<std::string> parts = absl::StrSplit(phc, '$');
  std::string hash = *Base64Decode(parts[5]);
  hash[0] ^= 1;
  std::string tampered = "$" + parts[1] + "$" + parts[2] + "$" + parts[3] + "$" + parts[4] + "$" +
                         Base64Encode(hash, false);
  EXPECT_FALSE(*VerifyPassword("secret", tampered));
  // Different cost parameters change the hash.
  std::string other_t = phc;
  other_t.replace(other_t.find("t=1"), 3, "t=2");
  EXPECT_FALSE(*VerifyPassword("secret", other_t));
}

TEST(PasswordTest, RejectsMalformedPhc) {
  const char* good_tail = "$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  for (std::string bad : {
           std::string(""),
           std::string("password"),
           std::string("$argon2i$v=19$m=256,t=2,p=1") + good_tail,
           std::string("$argon2d$v=19$m=256,t=2,p=1") + good_tail,
           std::string("$argon2id$v=16$m=256,t=2,p=1") + good_tail,
           std::string("$argon2id$m=256,t=2,p=1") + good_tail,
           std::string("$argon2id$v=19$t=2,m=64,p=1") + good_tail,
           std::string("$argon2id$v=19$m=64,t=2") + good_tail,
           std::string("$argon2id$v=19$m=256,t=2,p=1,x=3") + good_tail,
           std::string("$argon2id$v=19$m=-64,t=2,p=1") + good_tail,
           std::string("$argon2id$v=19$m=064,t=2,p=1") + good_tail,
           std::string("$argon2id$v=19$m=99999999999,t=2,p=1") + good_tail,
           std::string("$argon2id$v=19$m=64,t=0,p=1") + good_tail,
           std::string("$argon2id$v=19$m=64,t=2,p=0") + good_tail,
           std::string("$argon2id$v=19$m=4,t=2,p=1") + good_tail,
           std::string("$argon2id$v=19$m=64,t=1000000,p=1") + good_tail,
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c2!tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),  // 5-byte salt
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQM"),  // 6-byte hash
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4$"),
           std::string("x$argon2id$v=19$m=256,t=2,p=1") + good_tail,
       }) {
    auto r = VerifyPassword("password", bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(NeedsRehash(bad, Argon2Params{})) << bad;
  }
}

TEST(PasswordTest, RejectsBadParams) {
  FakeRandom r;
  Argon2Params p = Fast();
  p.salt_len = 4;
  EXPECT_FALSE(HashPassword("x", p, r).ok());
  p = Fast();
  p.m_kib = 4;
  EXPECT_FALSE(HashPassword("x", p, r).ok());
  p = Fast();
  p.t = 0;
  EXPECT_FALSE(HashPassword("x", p, r).ok());
  p = Fast();
  p.hash_len = 8;
  EXPECT_FALSE(HashPassword("x", p, r).ok());
}

TEST(PasswordTest, NeedsRehashComparesEveryParameter) {
  FakeRandom r;
  std::string phc = *HashPassword("x", Fast(), r);
  EXPECT_FALSE(NeedsRehash(phc, Fast()));
  Argon2Params p = Fast();
  p.m_kib = 128;
  EXPECT_TRUE(NeedsRehash(phc, p));
  p = Fast();
  p.t = 3;
  EXPECT_TRUE(NeedsRehash(phc, p));
  p = Fast();
  p.p = 2;
  EXPECT_TRUE(NeedsRehash(phc, p));
  p = Fast();
  p.salt_len = 32;
  EXPECT_TRUE(NeedsRehash(phc, p));
  p = Fast();
  p.hash_len = 64;
  EXPECT_TRUE(NeedsRehash(phc, p));
  EXPECT_TRUE(NeedsRehash(phc, Argon2Params{}));
}

TEST(PasswordHasherTest, AgreesWithTheFreeFunctions) {
  FakeRandom r(7);
  PasswordHasher hasher(Fast(), 2);
  EXPECT_EQ(hasher.concurrency(), 2);
  auto phc = hasher.Hash("Mật khẩu@2024", r);
  ASSERT_TRUE(phc.ok()) << phc.status();
  EXPECT_TRUE(*VerifyPassword("Mật khẩu@2024", *phc));
  EXPECT_FALSE(*VerifyPassword("Mật khẩu@2025", *phc));
  std::string free_phc = *HashPassword("hunter2", Fast(), r);
  EXPECT_TRUE(*hasher.Verify("hunter2", free_phc));
  EXPECT_FALSE(*hasher.Verify("hunter3", free_phc));
  EXPECT_FALSE(hasher.NeedsRehash(*phc));
  EXPECT_TRUE(hasher.NeedsRehash(*HashPassword("x", Argon2Params{.m_kib = 128, .t = 1}, r)));
  EXPECT_FALSE(hasher.Verify("x", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$abc").ok());
  EXPECT_EQ(hasher.heap_fallbacks(), 0);
}

TEST(PasswordHasherTest, KnownAnswersIncludingHashesLargerThanTheWorkspace) {
  PasswordHasher hasher(Argon2Params{.m_kib = 256, .t = 2}, 1);
  // m=256 fits the workspace; p=2 (two lanes) too; m=65536 needs a one-off allocation.
  EXPECT_TRUE(*hasher.Verify(
      "password",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
  EXPECT_TRUE(*hasher.Verify(
      "password",
      "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"));
  EXPECT_EQ(hasher.heap_fallbacks(), 0);
  const char* big =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  EXPECT_TRUE(*hasher.Verify("password", big));
  EXPECT_FALSE(*hasher.Verify("Password", big));
  EXPECT_EQ(hasher.heap_fallbacks(), 2);
  // The workspace is still the one used afterwards, and still gives right answers.
  EXPECT_FALSE(*hasher.Verify(
      "Password",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
  EXPECT_EQ(hasher.heap_fallbacks(), 2);
}

// Two computations sharing a workspace would corrupt each other's blocks and give wrong
// answers: many threads over few workspaces must all get the right ones.
TEST(PasswordHasherTest, ConcurrentCallersNeverShareAWorkspace) {
  FakeRandom r(3);
  Argon2Params p{.m_kib = 1024, .t = 2};
  std::vector<std::string> passwords, hashes;
  for (int i = 0; i < 8; ++i) {
    passwords.push_back("Mật khẩu@" + std::to_string(i));
    hashes.push_back(*HashPassword(passwords.back(), p, r));
  }
  PasswordHasher hasher(p, 2);
  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        const std::string& h = hashes[(t + i) % hashes.size()];
        bool match = (t + i) % 2 == 0;
        auto ok = hasher.Verify(match ? passwords[(t + i) % hashes.size()] : "sai", h);
        (ok.ok() && *ok == match ? right : wrong)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 48);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(PasswordHasherTest, InvalidParametersFailToHashButStoredHashesStillVerify) {
  FakeRandom r;
  Argon2Params bad = Fast();
  bad.m_kib = 4;
  PasswordHasher hasher(bad, 1);
  EXPECT_EQ(hasher.Hash("x", r).status().code(), absl::StatusCode::kInvalidArgument);
  std::string phc = *HashPassword("x", Fast(), r);
  EXPECT_TRUE(*hasher.Verify("x", phc));
}

}  // namespace
}  // namespace dvc::crypto
