// The signature service end to end in-process: real certificates from the test PKI, real
// OpenSSL signatures, in-memory stores, a scripted remote signer and revocation checker.
#include "services/sigverify/domain/signature_service.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/rsa.h>

#include <map>

#include "libs/crypto/random.h"
#include "libs/status/errors.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using status::ReasonOf;
using testing::CertSpec;
using testing::TestCert;
using testing::TestPki;

class MemChallengeStore final : public ChallengeStore {
 public:
  absl::Status Insert(const StoredChallenge& c) override {
    rows_[c.challenge_id] = {c, false};
    return absl::OkStatus();
  }
  absl::StatusOr<StoredChallenge> Consume(const std::string& id, const std::string& flow,
                                          Purpose purpose, absl::Time now) override {
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.first.flow_id != flow ||
        it->second.first.purpose != purpose) {
      return status::NotFound("CHALLENGE_NOT_FOUND", "challenge_id", "vi", "en");
    }
    if (it->second.second) return status::FailedPrecondition("CHALLENGE_USED", "c", "vi", "en");
    if (it->second.first.expires_at <= now) {
      return status::FailedPrecondition("CHALLENGE_EXPIRED", "c", "vi", "en");
    }
    it->second.second = true;
    return it->second.first;
  }
  std::map<std::string, std::pair<StoredChallenge, bool>> rows_;
};

class MemRemoteStore final : public RemoteSignatureStore {
 public:
  absl::Status Insert(const RemoteSignature& tx) override {
    rows_[tx.transaction_id] = tx;
    return absl::OkStatus();
  }
  absl::StatusOr<RemoteSignature> Get(const std::string& id, const std::string& flow,
                                      Purpose purpose) override {
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.flow_id != flow || it->second.purpose != purpose) {
      return status::NotFound("REMOTE_SIGNATURE_NOT_FOUND", "transaction_id", "vi", "en");
    }
    return it->second;
  }
  absl::Status MarkDone(const std::string& id, const std::vector<std::string>& chain) override {
    auto& tx = rows_[id];
    if (tx.state == RemoteSignature::State::kPending) {
      tx.state = RemoteSignature::State::kDone;
      tx.result_chain = chain;
    }
    return absl::OkStatus();
  }
  absl::Status MarkFailed(const std::string& id, const std::string& reason) override {
    auto& tx = rows_[id];
    if (tx.state == RemoteSignature::State::kPending) {
      tx.state = RemoteSignature::State::kFailed;
      tx.failure_reason = reason;
    }
    return absl::OkStatus();
  }
  std::map<std::string, RemoteSignature> rows_;
};

class ScriptedRevocation final : public RevocationChecker {
 public:
  absl::StatusOr<RevocationStatus> CheckPath(const ValidatedPath& path, absl::Time,
                                             RevocationPolicy policy) override {
    last_policy = policy;
    last_chain_length = path.chain.size();
    if (!next.ok()) return next;
    RevocationStatus s;
    s.state = RevocationStatus::State::kGood;
    s.source = "ocsp";
    return s;
  }
  absl::Status next = absl::OkStatus();
  RevocationPolicy last_policy = RevocationPolicy::kFailOpen;
  size_t last_chain_length = 0;
};

// Plays a user's phone: signs the digest with the certificate's key after `pending_polls`.
class ScriptedSigner final : public RemoteSigner {
 public:
  absl::StatusOr<RemoteSignStarted> Start(const RemoteSignRequest& req) override {
    last = req;
    return RemoteSignStarted{"ptx-" + req.transaction_id, {}};
  }
  absl::StatusOr<RemoteSignOutcome> Poll(const std::string&) override {
    ++polls;
    if (polls <= pending_polls) return RemoteSignOutcome{};
    if (!fail.ok()) return fail;
    RemoteSignOutcome out;
    out.pending = false;
    const std::string digest_info = Sha256DigestInfo(
        wrong_digest ? std::string(32, '\x01') : last.digest_sha256);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(user.key.get(), nullptr);
    EVP_PKEY_sign_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    size_t len = 0;
    EVP_PKEY_sign(ctx, nullptr, &len,
                  reinterpret_cast<const unsigned char*>(digest_info.data()), digest_info.size());
    out.signature.resize(len);
    EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(out.signature.data()), &len,
                  reinterpret_cast<const unsigned char*>(digest_info.data()), digest_info.size());
    out.signature.resize(len);
    EVP_PKEY_CTX_free(ctx);
    out.chain_der = chain;
    return out;
  }
  TestCert user;
  std::vector<std::string> chain;
  RemoteSignRequest last;
  int pending_polls = 1;
  int polls = 0;
  bool wrong_digest = false;
  absl::Status fail = absl::OkStatus();
};

std::string SignPkcs1(const TestCert& who, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, who.key.get());
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string SignCmsDetached(const TestCert& who, const std::string& data) {
  BIO* in = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  CMS_ContentInfo* cms =
      CMS_sign(who.get(), who.key.get(), nullptr, in, CMS_DETACHED | CMS_BINARY);
  BIO_free(in);
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(cms, &der);
  std::string out(reinterpret_cast<char*>(der), n);
  OPENSSL_free(der);
  CMS_ContentInfo_free(cms);
  return out;
}

std::shared_ptr<const TrustStore> StoreOf(const std::vector<const TestCert*>& roots) {
  std::vector<TrustAnchor> anchors;
  for (const TestCert* r : roots) {
    auto parsed = ParsePemCertificates(r->Pem(), "test");
    EXPECT_TRUE(parsed.ok());
    for (auto& a : *parsed) anchors.push_back(a);
  }
  return std::make_shared<const TrustStore>(std::move(anchors));
}

class SignatureServiceTest : public ::testing::Test {
 protected:
  SignatureServiceTest()
      : root_(pki_.Root("Vietnam National Root CA (TEST)")),
        ca_(pki_.Intermediate(root_, "VNPT Certification Authority (TEST)")),
        gov_root_(pki_.Root("RootCA chuyên dùng Chính phủ G2 (TEST)")),
        gov_ca_(pki_.Intermediate(gov_root_, "CA phục vụ các cơ quan Nhà nước G2 (TEST)")),
        citizen_(pki_.Issue(ca_, CertSpec::Leaf({{"C", "VN"},
                                                 {"CN", "Nguyễn Văn An"},
                                                 {"UID", "CCCD:001099012345"}}))),
        holder_("", StoreOf({&root_, &gov_root_})),
        clock_(absl::Now()) {}

  std::unique_ptr<SignatureService> Service() {
    SignatureServiceOptions opts;
    auto fp = ParsePemCertificates(gov_root_.Pem(), "gov");
    opts.government_anchors.insert((*fp)[0].fingerprint_sha256);
    return std::make_unique<SignatureService>(
        &holder_, &revocation_, &challenges_, &remote_,
        absl::flat_hash_map<RemoteProvider, RemoteSigner*>{{RemoteProvider::kSim, &signer_}},
        &clock_, &random_, opts);
  }

  TestPki pki_;
  TestCert root_, ca_, gov_root_, gov_ca_, citizen_;
  TrustStoreHolder holder_;
  ScriptedRevocation revocation_;
  MemChallengeStore challenges_;
  MemRemoteStore remote_;
  ScriptedSigner signer_;
  FakeClock clock_;
  crypto::OsRandom random_;
};

TEST_F(SignatureServiceTest, UsbPkcs1SignatureOverTheChallengeVerifiesOnce) {
  auto svc = Service();
  auto c = svc->IssueChallenge("flow-1", Purpose::kLogin);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(c->challenge.find("purpose=login"), std::string::npos);
  EXPECT_NE(c->challenge.find("flow=flow-1"), std::string::npos);
  const std::string sig = SignPkcs1(citizen_, c->challenge);
  auto v = svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                         SignatureFormat::kPkcs1Sha256, sig, citizen_.Pem(),
                                         {ca_.Der()});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->method, "USB");
  EXPECT_EQ(v->anchor_kind, AnchorKind::kPublic);
  EXPECT_EQ(v->revocation_source, "ocsp");
  EXPECT_EQ(v->certificate.identity.cccd.value_or(""), "001099012345");
  EXPECT_EQ(v->certificate.identity.common_name, "Nguyễn Văn An");
  EXPECT_EQ(revocation_.last_policy, RevocationPolicy::kFailClosed);
  EXPECT_EQ(revocation_.last_chain_length, 3u);  // leaf, intermediate, anchor

  // Replaying the same signature: the challenge is spent.
  auto replay = svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                              SignatureFormat::kPkcs1Sha256, sig, citizen_.Pem(),
                                              {ca_.Der()});
  EXPECT_EQ(ReasonOf(replay.status()), "CHALLENGE_USED");
}

TEST_F(SignatureServiceTest, SignatureOverAnotherChallengeIsInvalidAndSpendsTheAttempt) {
  auto svc = Service();
  auto c1 = svc->IssueChallenge("flow-1", Purpose::kRegistration);
  auto c2 = svc->IssueChallenge("flow-1", Purpose::kRegistration);
  ASSERT_TRUE(c1.ok() && c2.ok());
  auto v = svc->VerifyChallengeSignature(c1->challenge_id, "flow-1", Purpose::kRegistration,
                                         SignatureFormat::kPkcs1Sha256,
                                         SignPkcs1(citizen_, c2->challenge), citizen_.Der(),
                                         {ca_.Der()});
  EXPECT_EQ(ReasonOf(v.status()), "SIGNATURE_INVALID");
  auto again = svc->VerifyChallengeSignature(c1->challenge_id, "flow-1", Purpose::kRegistration,
                                             SignatureFormat::kPkcs1Sha256,
                                             SignPkcs1(citizen_, c1->challenge), citizen_.Der(),
                                             {ca_.Der()});
  EXPECT_EQ(ReasonOf(again.status()), "CHALLENGE_USED");
}

TEST_F(SignatureServiceTest, ChallengeIsBoundToFlowAndPurposeAndExpires) {
  auto svc = Service();
  auto c = svc->IssueChallenge("flow-1", Purpose::kLogin);
  ASSERT_TRUE(c.ok());
  const std::string sig = SignPkcs1(citizen_, c->challenge);
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-2", Purpose::kLogin,
                                                   SignatureFormat::kPkcs1Sha256, sig,
                                                   citizen_.Der(), {ca_.Der()})
                         .status()),
            "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-1",
                                                   Purpose::kRegistration,
                                                   SignatureFormat::kPkcs1Sha256, sig,
                                                   citizen_.Der(), {ca_.Der()})
                         .status()),
            "CHALLENGE_NOT_FOUND");
  clock_.Advance(absl::Minutes(6));
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                                   SignatureFormat::kPkcs1Sha256, sig,
                                                   citizen_.Der(), {ca_.Der()})
                         .status()),
            "CHALLENGE_EXPIRED");
}

TEST_F(SignatureServiceTest, MalformedRequestLeavesTheChallengeUsable) {
  auto svc = Service();
  auto c = svc->IssueChallenge("flow-1", Purpose::kLogin);
  ASSERT_TRUE(c.ok());
  const std::string sig = SignPkcs1(citizen_, c->challenge);
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                                   SignatureFormat::kPkcs1Sha256, sig, "",
                                                   {ca_.Der()})
                         .status()),
            "CERT_MISSING");
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                                   SignatureFormat::kPkcs1Sha256, sig,
                                                   "-----BEGIN CERTIFICATE-----\nAAAA\n",
                                                   {ca_.Der()})
                         .status()),
            "CERT_MALFORMED");
  std::vector<std::string> long_chain(9, ca_.Der());
  EXPECT_EQ(ReasonOf(svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                                   SignatureFormat::kPkcs1Sha256, sig,
                                                   citizen_.Der(), long_chain)
                         .status()),
            "CERT_CHAIN_TOO_LONG");
  auto v = svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                         SignatureFormat::kPkcs1Sha256, sig, citizen_.Der(),
                                         {ca_.Der()});
  EXPECT_TRUE(v.ok()) << v.status();
}

TEST_F(SignatureServiceTest, CmsDetachedCarriesItsSignerAndNeedsTheIntermediate) {
  auto svc = Service();
  auto c = svc->IssueChallenge("flow-1", Purpose::kLogin);
  ASSERT_TRUE(c.ok());
  const std::string cms = SignCmsDetached(citizen_, c->challenge);
  auto v = svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                         SignatureFormat::kCmsDetached, cms, "", {ca_.Der()});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->certificate.fingerprint_sha256,
            ParseCertificate(citizen_.Der())->fingerprint_sha256);

  auto c2 = svc->IssueChallenge("flow-1", Purpose::kLogin);
  auto missing = svc->VerifyChallengeSignature(
      c2->challenge_id, "flow-1", Purpose::kLogin, SignatureFormat::kCmsDetached,
      SignCmsDetached(citizen_, c2->challenge), "", {});
  EXPECT_EQ(ReasonOf(missing.status()), "CERT_CHAIN_INCOMPLETE");
}

TEST_F(SignatureServiceTest, RevokedAndMalformedIdentityAreRefused) {
  auto svc = Service();
  revocation_.next = status::InvalidArgument("CERT_REVOKED", "certificate", "vi", "en");
  auto c = svc->IssueChallenge("flow-1", Purpose::kLogin);
  auto v = svc->VerifyChallengeSignature(c->challenge_id, "flow-1", Purpose::kLogin,
                                         SignatureFormat::kPkcs1Sha256,
                                         SignPkcs1(citizen_, c->challenge), citizen_.Der(),
                                         {ca_.Der()});
  EXPECT_EQ(ReasonOf(v.status()), "CERT_REVOKED");
  revocation_.next = absl::OkStatus();

  TestCert bad = pki_.Issue(ca_, CertSpec::Leaf({{"CN", "Trần Thị B"}, {"UID", "CCCD:12345"}}));
  auto c2 = svc->IssueChallenge("flow-1", Purpose::kLogin);
  auto v2 = svc->VerifyChallengeSignature(c2->challenge_id, "flow-1", Purpose::kLogin,
                                          SignatureFormat::kPkcs1Sha256,
                                          SignPkcs1(bad, c2->challenge), bad.Der(), {ca_.Der()});
  EXPECT_EQ(ReasonOf(v2.status()), "CERT_IDENTITY_INVALID");
}

TEST_F(SignatureServiceTest, GovernmentAnchorIsReported) {
  auto svc = Service();
  TestCert official = pki_.Issue(
      gov_ca_, CertSpec::Leaf({{"CN", "Lê Văn Cường"}, {"O", "Văn phòng Chính phủ"},
                               {"UID", "CCCD:001088000123"}}));
  auto v = svc->CheckCertificate(official.Der(), {gov_ca_.Der()}, Purpose::kRegistration);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->anchor_kind, AnchorKind::kGovernment);
  EXPECT_EQ(v->method, "");
}

TEST_F(SignatureServiceTest, SimSignatureIsPolledUntilSignedAndThenStaysDone) {
  auto svc = Service();
  signer_.user = citizen_;
  signer_.chain = {citizen_.Der(), ca_.Der()};
  auto t = svc->StartRemoteSignature("flow-7", Purpose::kLogin, RemoteProvider::kSim,
                                     "0912 345 678", "");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(signer_.last.subscriber, "84912345678");
  EXPECT_EQ(t->verification_code.size(), 4u);
  EXPECT_NE(signer_.last.display_text.find(t->verification_code), std::string::npos);

  auto r = svc->GetRemoteSignatureResult(t->transaction_id, "flow-7", Purpose::kLogin);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->pending);
  r = svc->GetRemoteSignatureResult(t->transaction_id, "flow-7", Purpose::kLogin);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->pending);
  EXPECT_EQ(r->certificate.method, "SIM");
  EXPECT_EQ(r->certificate.certificate.identity.cccd.value_or(""), "001099012345");
  const int polls = signer_.polls;
  r = svc->GetRemoteSignatureResult(t->transaction_id, "flow-7", Purpose::kLogin);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->pending);
  EXPECT_EQ(signer_.polls, polls);  // done: the provider is not asked again
  EXPECT_EQ(ReasonOf(svc->GetRemoteSignatureResult(t->transaction_id, "flow-8", Purpose::kLogin)
                         .status()),
            "REMOTE_SIGNATURE_NOT_FOUND");
}

TEST_F(SignatureServiceTest, SimFailuresAreTypedAndReplayed) {
  auto svc = Service();
  signer_.user = citizen_;
  signer_.chain = {citizen_.Der(), ca_.Der()};
  signer_.pending_polls = 0;
  signer_.fail = RemoteSignerError("SIGNER_USER_CANCELLED");
  auto t = svc->StartRemoteSignature("flow-7", Purpose::kLogin, RemoteProvider::kSim,
                                     "0912345678", "");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ReasonOf(svc->GetRemoteSignatureResult(t->transaction_id, "flow-7", Purpose::kLogin)
                         .status()),
            "SIGNER_USER_CANCELLED");
  signer_.fail = absl::OkStatus();  // the provider would now sign: the outcome stays cancelled
  EXPECT_EQ(ReasonOf(svc->GetRemoteSignatureResult(t->transaction_id, "flow-7", Purpose::kLogin)
                         .status()),
            "SIGNER_USER_CANCELLED");

  signer_.wrong_digest = true;
  auto t2 = svc->StartRemoteSignature("flow-7", Purpose::kLogin, RemoteProvider::kSim,
                                      "0912345678", "");
  EXPECT_EQ(ReasonOf(svc->GetRemoteSignatureResult(t2->transaction_id, "flow-7", Purpose::kLogin)
                         .status()),
            "SIGNATURE_INVALID");
  signer_.wrong_digest = false;

  signer_.pending_polls = 1000;
  auto t3 = svc->StartRemoteSignature("flow-7", Purpose::kLogin, RemoteProvider::kSim,
                                      "0912345678", "");
  clock_.Advance(absl::Minutes(3));
  EXPECT_EQ(ReasonOf(svc->GetRemoteSignatureResult(t3->transaction_id, "flow-7", Purpose::kLogin)
                         .status()),
            "SIGNER_TIMEOUT");
}

TEST_F(SignatureServiceTest, BadInputIsRefusedBeforeAnythingIsStored) {
  auto svc = Service();
  EXPECT_EQ(ReasonOf(svc->IssueChallenge("", Purpose::kLogin).status()), "FLOW_ID_INVALID");
  EXPECT_EQ(ReasonOf(svc->IssueChallenge("flow 1; drop", Purpose::kLogin).status()),
            "FLOW_ID_INVALID");
  EXPECT_EQ(ReasonOf(svc->IssueChallenge("flow-1", static_cast<Purpose>(9)).status()),
            "PURPOSE_INVALID");
  EXPECT_EQ(ReasonOf(svc->StartRemoteSignature("flow-1", Purpose::kLogin, RemoteProvider::kSim,
                                               "12345", "")
                         .status()),
            "PHONE_MALFORMED");
  EXPECT_EQ(ReasonOf(svc->StartRemoteSignature("flow-1", Purpose::kLogin,
                                               RemoteProvider::kSmartCa, "user-1", "")
                         .status()),
            "REMOTE_PROVIDER_UNSUPPORTED");
  EXPECT_TRUE(challenges_.rows_.empty());
  EXPECT_TRUE(remote_.rows_.empty());
}

}  // namespace
}  // namespace dvc::sigverify
