#include "libs/crypto/aead.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/testing/fake_random.h"

namespace dvc::crypto {
namespace {

using ::dvc::crypto::testing::FakeRandom;

const std::string kKey1(32, '\x11');
const std::string kKey2(32, '\x22');

FieldCipher MakeCipher(Random* r = nullptr) {
  auto c = FieldCipher::Create("k1", kKey1, r);
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

TEST(FieldCipherTest, RoundTripFormat) {
  FieldCipher c = MakeCipher();
  auto sealed = c.Seal("001099012345", "accounts.cccd:42");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_EQ(sealed->rfind("k1.", 0), 0u);
  auto blob = Base64UrlDecode(sealed->substr(3));
  ASSERT_TRUE(blob.has_value());
  EXPECT_EQ(blob->size(), 12u + 12u + 16u);
  EXPECT_EQ(sealed->find("001099012345"), std::string::npos);
  auto opened = c.Open(*sealed, "accounts.cccd:42");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "001099012345");
}

TEST(FieldCipherTest, EmptyAndUnicodePlaintext) {
  FieldCipher c = MakeCipher();
  for (std::string p : {std::string(), std::string("Nguyễn Văn A"), std::string(1000, '\0')}) {
    auto sealed = c.Seal(p, "");
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(*c.Open(*sealed, ""), p);
  }
}

TEST(FieldCipherTest, NoncesAreFresh) {
  FieldCipher c = MakeCipher();
  EXPECT_NE(*c.Seal("same", "ad"), *c.Seal("same", "ad"));
}

TEST(FieldCipherTest, NonceComesFromInjectedRandom) {
  FakeRandom r;
  r.PushBytes(std::string(12, '\0'));
  r.PushBytes(std::string(12, '\0'));
  auto c = FieldCipher::Create("k0", std::string(32, '\0'), &r);
  ASSERT_TRUE(c.ok());
  std::string a = *c->Seal("x", "ad"), b = *c->Seal("x", "ad");
  EXPECT_EQ(a, b);  // same scripted nonce and key → same output
  EXPECT_EQ(Base64UrlDecode(a.substr(3))->substr(0, 12), std::string(12, '\0'));
}

TEST(FieldCipherTest, KnownAnswerFromIndependentImplementation) {
  // Computed with Python's `cryptography` AESGCM: key 0x11*32, nonce 0*12, plaintext
  // "001099012345", AAD "k1.accounts.cccd:42" (kid + '.' + associated data).
  const char* kExpected = "k1.AAAAAAAAAAAAAAAA9PovV9iWragzKYkw5Ncd6yYpK0UOwr2V1XGYKA";
  FakeRandom r;
  r.PushBytes(std::string(12, '\0'));
  FieldCipher c = MakeCipher(&r);
  EXPECT_EQ(*c.Seal("001099012345", "accounts.cccd:42"), kExpected);
  EXPECT_EQ(*c.Open(kExpected, "accounts.cccd:42"), "001099012345");
}

TEST(FieldCipherTest, TamperingIsDetected) {
  FieldCipher c = MakeCipher();
  std::string sealed = *c.Seal("secret data", "ad");
  std::string blob = *Base64UrlDecode(sealed.substr(3));
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string t = blob;
    t[i] ^= 0x01;
    auto r = c.Open("k1." + Base64UrlEncode(t), "ad");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
  // Truncated tag.
  auto r = c.Open("k1." + Base64UrlEncode(blob.substr(0, blob.size() - 1)), "ad");
  EXPECT_FALSE(r.ok());
}

TEST(FieldCipherTest, WrongAssociatedDataRejected) {
  FieldCipher c = MakeCipher();
  std::string sealed = *c.Seal("001099012345", "accounts.cccd:42");
  auto r = c.Open(sealed, "accounts.cccd:43");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(c.Open(sealed, "").ok());
}

TEST(FieldCipherTest, UnknownKidAndMalformedRejected) {
  FieldCipher c = MakeCipher();
  std::string sealed = *c.Seal("v", "");
  auto unknown = c.Open("k9" + sealed.substr(2), "");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition);
  for (std::string bad : {std::string(""), std::string("k1"), std::string("k1."),
                          std::string("k1.!!!!"), std::string(".") + sealed.substr(3),
                          std::string("k1.AAAA"), sealed + "=", "k 1" + sealed.substr(2)}) {
    auto r = c.Open(bad, "");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FieldCipherTest, KidIsAuthenticated) {
  // Two kids with the same key bytes: relabelling a value must still fail.
  FieldCipher c = MakeCipher();
  ASSERT_TRUE(c.AddKey("k1b", kKey1).ok());
  std::string sealed = *c.Seal("v", "ad");
  auto r = c.Open("k1b" + sealed.substr(2), "ad");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(FieldCipherTest, RotationEncryptsWithPrimaryDecryptsWithAny) {
  FieldCipher c = MakeCipher();
  std::string old_value = *c.Seal("old", "ad");
  ASSERT_TRUE(c.AddKey("k2", kKey2).ok());
  EXPECT_EQ(c.primary_kid(), "k1");
  ASSERT_TRUE(c.SetPrimary("k2").ok());
  std::string new_value = *c.Seal("new", "ad");
  EXPECT_EQ(new_value.rfind("k2.", 0), 0u);
  EXPECT_EQ(*c.Open(old_value, "ad"), "old");
  EXPECT_EQ(*c.Open(new_value, "ad"), "new");
  EXPECT_TRUE(c.NeedsReseal(old_value));
  EXPECT_FALSE(c.NeedsReseal(new_value));

  // A cipher holding only k1 cannot read k2 values.
  FieldCipher only_k1 = MakeCipher();
  EXPECT_EQ(only_k1.Open(new_value, "ad").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FieldCipherTest, KeyValidation) {
  EXPECT_FALSE(FieldCipher::Create("k1", std::string(16, 'a')).ok());
  EXPECT_FALSE(FieldCipher::Create("k1", std::string(33, 'a')).ok());
  EXPECT_FALSE(FieldCipher::Create("", kKey1).ok());
  EXPECT_FALSE(FieldCipher::Create("a.b", kKey1).ok());
  EXPECT_FALSE(FieldCipher::Create(std::string(33, 'k'), kKey1).ok());
  FieldCipher c = MakeCipher();
  EXPECT_EQ(c.AddKey("k1", kKey2).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(c.SetPrimary("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.primary_kid(), "k1");
}

TEST(BlindIndexTest, KeyedDeterministicHex) {
  std::string a = BlindIndex("index-key", "001099012345");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, BlindIndex("index-key", "001099012345"));
  EXPECT_NE(a, BlindIndex("other-key", "001099012345"));
  EXPECT_NE(a, BlindIndex("index-key", "001099012346"));
  // HMAC-SHA256 RFC 4231 case 2 in hex.
  EXPECT_EQ(BlindIndex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace dvc::crypto
