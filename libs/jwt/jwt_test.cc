#include "libs/jwt/jwt.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"

namespace dvc::jwt {
namespace {

using ::dvc::crypto::Base64UrlDecode;
using ::dvc::crypto::Base64UrlEncode;
using ::dvc::status::ReasonOf;

const char kClaims[] = "{\"sub\":\"acc-1\",\"name\":\"Nguyễn Văn A\",\"exp\":1900000000}";

// Generated and signed with Python `cryptography` (independent of OpenSSL's JWS handling).
const char kPyPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfwXNXHsVHJ9DMlotG2lnMcbVAugi\n"
    "byBSvYPAtADSHx01aO1fy2SJ8idUGpR0cJLSjeN62g/0TDwYFtpEov00kw==\n"
    "-----END PUBLIC KEY-----\n";
const char kPyJwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"fwXNXHsVHJ9DMlotG2lnMcbVAugibyBSvYPAtADSHx0\","
    "\"y\":\"NWjtX8tkifInVBqUdHCS0o3jetoP9Ew8GBbaRKL9NJM\",\"kid\":\"py-1\"}";
const char kPyToken[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6InB5LTEiLCJ0eXAiOiJKV1QifQ."
    "eyJzdWIiOiJhY2MtMSIsIm5hbWUiOiJOZ3V54buFbiBWxINuIEEiLCJleHAiOjE5MDAwMDAwMDB9."
    "o87Z3TREPU6-SpT9Bl_P82OfK3tcmY_b_tNBs3SEyJDw7p-6MtSmv696FORDtWOUMqOnbv3Bbd7s-3e7Bkqrcw";

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = SigningKey::Generate("k-2024");
    ASSERT_TRUE(k.ok()) << k.status();
    key_ = std::make_unique<SigningKey>(*std::move(k));
    ASSERT_TRUE(verifier_.AddKey(*key_).ok());
  }
  std::string Token() {
    auto t = Sign(*key_, kClaims);
    EXPECT_TRUE(t.ok()) << t.status();
    return *t;
  }
  std::string Reason(absl::string_view token) {
    auto r = verifier_.Verify(token);
    EXPECT_FALSE(r.ok()) << token;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << token;
    }
    return ReasonOf(r.status());
  }

  std::unique_ptr<SigningKey> key_;
  Verifier verifier_;
};

TEST_F(JwtTest, SignVerifyRoundTrip) {
  std::string token = Token();
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(*Base64UrlDecode(parts[0]), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k-2024\"}");
  EXPECT_EQ(*Base64UrlDecode(parts[1]), kClaims);
  EXPECT_EQ(Base64UrlDecode(parts[2])->size(), 64u);
  auto claims = verifier_.Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, kClaims);
  EXPECT_EQ(ParseFlatJson(*claims)->GetString("name"), "Nguyễn Văn A");
  // ECDSA is randomised: two signatures differ, both verify.
  std::string again = Token();
  EXPECT_NE(again, token);
  EXPECT_TRUE(verifier_.Verify(again).ok());
}

TEST_F(JwtTest, VerifiesTokenFromIndependentImplementation) {
  Verifier v;
  ASSERT_TRUE(v.AddKey("py-1", kPyPublicPem).ok());
  auto claims = v.Verify(kPyToken);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, kClaims);

  Verifier from_jwk;
  ASSERT_TRUE(from_jwk.AddJwk(kPyJwk).ok());
  EXPECT_TRUE(from_jwk.Verify(kPyToken).ok());
}

TEST_F(JwtTest, TamperedPartsRejected) {
  std::string token = Token();
  std::vector<std::string> p = absl::StrSplit(token, '.');
  // Payload replaced with different claims.
  std::string evil_payload = Base64UrlEncode("{\"sub\":\"admin\",\"exp\":1900000000}");
  EXPECT_EQ(Reason(absl::StrCat(p[0], ".", evil_payload, ".", p[2])), "TOKEN_SIGNATURE_INVALID");
  // One bit of the signature flipped (r and s halves).
  for (size_t i : {0u, 40u, 63u}) {
    std::string sig = *Base64UrlDecode(p[2]);
    sig[i] ^= 0x01;
    EXPECT_EQ(Reason(absl::StrCat(p[0], ".", p[1], ".", Base64UrlEncode(sig))),
              "TOKEN_SIGNATURE_INVALID");
  }
  // Header re-encoded with an extra member: still ES256 and same kid, but not what was signed.
  std::string header = Base64UrlEncode(
      "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k-2024\",\"x\":1}");
  EXPECT_EQ(Reason(absl::StrCat(header, ".", p[1], ".", p[2])), "TOKEN_SIGNATURE_INVALID");
  // Signature of zeros (r = s = 0).
  EXPECT_EQ(Reason(absl::StrCat(p[0], ".", p[1], ".", Base64UrlEncode(std::string(64, '\0')))),
            "TOKEN_SIGNATURE_INVALID");
}

TEST_F(JwtTest, SignatureFromAnotherKeyWithSameKidRejected) {
  auto other = SigningKey::Generate("k-2024");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Reason(*Sign(*other, kClaims)), "TOKEN_SIGNATURE_INVALID");
}

TEST_F(JwtTest, AlgorithmConfusionRejected) {
  std::string payload = Base64UrlEncode(kClaims);
  // alg "none" with an empty signature.
  std::string none = Base64UrlEncode("{\"alg\":\"none\",\"kid\":\"k-2024\"}");
  EXPECT_EQ(Reason(absl::StrCat(none, ".", payload, ".")), "TOKEN_ALG_UNSUPPORTED");
  std::string none_upper = Base64UrlEncode("{\"alg\":\"NONE\",\"kid\":\"k-2024\"}");
  EXPECT_EQ(Reason(absl::StrCat(none_upper, ".", payload, ".")), "TOKEN_ALG_UNSUPPORTED");
  // HS256 keyed with the public key PEM (the classic RS/ES → HS confusion).
  std::string hs = Base64UrlEncode("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k-2024\"}");
  std::string input = absl::StrCat(hs, ".", payload);
  std::string mac = dvc::crypto::HmacSha256(*key_->PublicPem(), input);
  EXPECT_EQ(Reason(absl::StrCat(input, ".", Base64UrlEncode(mac))), "TOKEN_ALG_UNSUPPORTED");
  for (const char* alg : {"RS256", "ES384", "es256", "ES256 ", "EdDSA", "PS256"}) {
    std::string h = Base64UrlEncode(
        absl::StrCat("{\"alg\":", JsonQuote(alg), ",\"kid\":\"k-2024\"}"));
    std::string t = Token();
    std::vector<std::string> p = absl::StrSplit(t, '.');
    EXPECT_EQ(Reason(absl::StrCat(h, ".", p[1], ".", p[2])), "TOKEN_ALG_UNSUPPORTED") << alg;
  }
  // alg missing or not a string.
  for (const char* header : {"{\"kid\":\"k-2024\"}", "{\"alg\":null,\"kid\":\"k-2024\"}",
                             "{\"alg\":[\"ES256\"],\"kid\":\"k-2024\"}"}) {
    EXPECT_EQ(Reason(absl::StrCat(Base64UrlEncode(header), ".", payload, ".AAAA")),
              "TOKEN_MALFORMED")
        << header;
  }
}

TEST_F(JwtTest, DuplicateAlgInHeaderRejected) {
  std::string h = Base64UrlEncode("{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"k-2024\"}");
  EXPECT_EQ(Reason(absl::StrCat(h, ".", Base64UrlEncode(kClaims), ".")), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, CritHeaderRejected) {
  std::string h =
      Base64UrlEncode("{\"alg\":\"ES256\",\"kid\":\"k-2024\",\"crit\":[\"exp\"],\"exp\":1}");
  std::string t = Token();
  std::vector<std::string> p = absl::StrSplit(t, '.');
  EXPECT_EQ(Reason(absl::StrCat(h, ".", p[1], ".", p[2])), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, UnknownOrMissingKidRejected) {
  auto other = SigningKey::Generate("k-other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Reason(*Sign(*other, kClaims)), "TOKEN_KID_UNKNOWN");
  std::string h = Base64UrlEncode("{\"alg\":\"ES256\"}");
  EXPECT_EQ(Reason(absl::StrCat(h, ".", Base64UrlEncode(kClaims), ".AAAA")), "TOKEN_KID_UNKNOWN");
  std::string h2 = Base64UrlEncode("{\"alg\":\"ES256\",\"kid\":7}");
  EXPECT_EQ(Reason(absl::StrCat(h2, ".", Base64UrlEncode(kClaims), ".AAAA")),
            "TOKEN_KID_UNKNOWN");
}

TEST_F(JwtTest, MalformedTokensRejectedCleanly) {
  std::string t = Token();
  std::vector<std::string> p = absl::StrSplit(t, '.');
  for (std::string bad : {
           std::string(""), std::string("."), std::string(".."), std::string("abc"),
           absl::StrCat(p[0], ".", p[1]), absl::StrCat(p[0], ".", p[1], ".", p[2], "."),
           absl::StrCat(p[0], ".", p[1], ".", p[2], ".", p[2]),
           absl::StrCat(p[0], "=.", p[1], ".", p[2]),             // padding
           absl::StrCat(p[0], ".", p[1], ".", p[2], "=="),
           absl::StrCat("!!", p[0], ".", p[1], ".", p[2]),         // bad base64
           absl::StrCat(p[0], ".", p[1], "*.", p[2]),
           absl::StrCat(p[0], ".", p[1], ".", p[2].substr(0, 80)),  // short signature
           absl::StrCat(p[0], ".", p[1], ".", p[2], "AAAA"),      // long signature
           absl::StrCat(p[0], ".", p[1], "."),                    // empty signature
           absl::StrCat(Base64UrlEncode("not json"), ".", p[1], ".", p[2]),
           absl::StrCat(Base64UrlEncode("[\"ES256\"]"), ".", p[1], ".", p[2]),
           absl::StrCat(p[0], ".", p[1], ".", std::string(20000, 'A')),  // oversized
       }) {
    EXPECT_EQ(Reason(bad), "TOKEN_MALFORMED") << bad;
  }
}

TEST_F(JwtTest, SignedNonObjectPayloadRejected) {
  EXPECT_FALSE(Sign(*key_, "not json").ok());
  EXPECT_FALSE(Sign(*key_, "[1,2]").ok());
  EXPECT_FALSE(Sign(*key_, "").ok());
}

TEST_F(JwtTest, PemRoundTrip) {
  auto pem = key_->PrivatePem();
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto loaded = SigningKey::FromPem("k-2024", *pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->PublicJwk(), key_->PublicJwk());
  EXPECT_TRUE(verifier_.Verify(*Sign(*loaded, kClaims)).ok());
}

TEST_F(JwtTest, BadPemsRejected) {
  EXPECT_FALSE(SigningKey::FromPem("k", "").ok());
  EXPECT_FALSE(SigningKey::FromPem("k", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
  EXPECT_FALSE(SigningKey::FromPem("k", kPyPublicPem).ok());
  EXPECT_FALSE(SigningKey::FromPem("bad kid", *key_->PrivatePem()).ok());
  EXPECT_FALSE(SigningKey::Generate("").ok());
  EXPECT_FALSE(SigningKey::Generate("a\"b").ok());
  Verifier v;
  EXPECT_FALSE(v.AddKey("k", "garbage").ok());
  EXPECT_FALSE(v.AddKey("k", *key_->PrivatePem()).ok());
  EXPECT_TRUE(v.AddKey("k", kPyPublicPem).ok());
  EXPECT_EQ(v.AddKey("k", kPyPublicPem).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(JwtTest, PublicJwkShapeAndRoundTrip) {
  auto jwk = ParseFlatJson(key_->PublicJwk());
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(jwk->GetString("kty"), "EC");
  EXPECT_EQ(jwk->GetString("crv"), "P-256");
  EXPECT_EQ(jwk->GetString("kid"), "k-2024");
  EXPECT_EQ(jwk->GetString("use"), "sig");
  EXPECT_EQ(jwk->GetString("alg"), "ES256");
  EXPECT_EQ(Base64UrlDecode(*jwk->GetString("x"))->size(), 32u);
  EXPECT_EQ(Base64UrlDecode(*jwk->GetString("y"))->size(), 32u);
  EXPECT_FALSE(jwk->Has("d"));  // never the private scalar
  Verifier v;
  ASSERT_TRUE(v.AddJwk(key_->PublicJwk()).ok());
  EXPECT_TRUE(v.Verify(Token()).ok());
}

TEST_F(JwtTest, BadJwksRejected) {
  std::string x = "fwXNXHsVHJ9DMlotG2lnMcbVAugibyBSvYPAtADSHx0";
  std::string y = "NWjtX8tkifInVBqUdHCS0o3jetoP9Ew8GBbaRKL9NJM";
  auto jwk = [&](absl::string_view extra, absl::string_view xv, absl::string_view yv) {
    return absl::StrCat("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"", xv, "\",\"y\":\"", yv,
                        "\"", extra, "}");
  };
  Verifier v;
  EXPECT_FALSE(v.AddJwk(jwk("", x, y)).ok());                             // no kid
  EXPECT_FALSE(v.AddJwk(jwk(",\"kid\":\"a\",\"alg\":\"HS256\"", x, y)).ok());
  EXPECT_FALSE(v.AddJwk(jwk(",\"kid\":\"a\",\"use\":\"enc\"", x, y)).ok());
  EXPECT_FALSE(v.AddJwk(jwk(",\"kid\":\"a\"", x.substr(0, 40), y)).ok());  // short x
  // Point not on the curve: y changed.
  std::string y_bad = y;
  y_bad[5] = y_bad[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v.AddJwk(jwk(",\"kid\":\"a\"", x, y_bad)).ok());
  EXPECT_FALSE(v.AddJwk("{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\"}").ok());
  EXPECT_FALSE(v.AddJwk("not json").ok());
  EXPECT_TRUE(v.AddJwk(jwk(",\"kid\":\"a\"", x, y)).ok());
}

TEST_F(JwtTest, JwksListsEveryKey) {
  auto second = SigningKey::Generate("k-2025");
  ASSERT_TRUE(second.ok());
  std::string jwks = Jwks({key_.get(), &*second, nullptr});
  EXPECT_EQ(jwks, absl::StrCat("{\"keys\":[", key_->PublicJwk(), ",", second->PublicJwk(), "]}"));
  EXPECT_EQ(Jwks({}), "{\"keys\":[]}");
}

TEST_F(JwtTest, VerifierWithSeveralKeys) {
  auto second = SigningKey::Generate("k-2025");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(verifier_.AddKey(*second).ok());
  EXPECT_TRUE(verifier_.Verify(Token()).ok());
  EXPECT_TRUE(verifier_.Verify(*Sign(*second, kClaims)).ok());
  EXPECT_EQ(verifier_.AddKey(*second).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace dvc::jwt
