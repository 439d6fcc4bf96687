#include "services/sigverify/domain/revocation.h"

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/metrics/metrics.h"
#include "libs/status/errors.h"
#include "services/sigverify/testing/test_ocsp.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using testing::CertSpec;
using testing::MakeOcspErrorResponse;
using testing::MakeOcspResponse;
using testing::OcspResponseSpec;
using testing::ParseOcspRequest;
using testing::SerialOf;
using testing::TestCert;
using testing::TestPki;
using State = RevocationStatus::State;

constexpr char kOcspUrl[] = "http://ocsp.ca.test/";
constexpr char kCaCrlUrl[] = "http://crl.ca.test/ca.crl";
constexpr char kRootCrlUrl[] = "http://crl.root.test/root.crl";

class FakeFetcher final : public RevocationFetcher {
 public:
  using OcspHandler = std::function<absl::StatusOr<std::string>(const std::string& request)>;
  using CrlHandler = std::function<absl::StatusOr<std::string>()>;

  absl::StatusOr<std::string> PostOcsp(const std::string& url, const std::string& der_request,
                                       absl::Duration timeout) override {
    ++ocsp_calls[url];
    last_timeout = timeout;
    auto it = ocsp.find(url);
    if (it == ocsp.end()) return absl::UnavailableError("connection refused");
    return it->second(der_request);
  }
  absl::StatusOr<std::string> GetCrl(const std::string& url, absl::Duration timeout) override {
    ++crl_calls[url];
    auto it = crl.find(url);
    if (it == crl.end()) return absl::UnavailableError("connection refused");
    return it->second();
  }

  std::map<std::string, OcspHandler> ocsp;
  std::map<std::string, CrlHandler> crl;
  std::map<std::string, int> ocsp_calls;
  std::map<std::string, int> crl_calls;
  absl::Duration last_timeout;
};

std::string PemOf(X509_CRL* crl) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

class RevocationTest : public ::testing::Test {
 protected:
  RevocationTest() : clock_(absl::Now()) {
    root_ = pki_.Root("Revocation Test Root");
    CertSpec ca =
        CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", "Revocation Test CA"}}, 0);
    ca.crl_url = kRootCrlUrl;
    ca_ = pki_.Issue(root_, ca);
    leaf_ = IssueLeaf("Nguyễn Văn An");
    // By default: the root's CRL (covering the CA) is fresh and empty; the CA's CRL too.
    ServeCrl(kRootCrlUrl, root_, {});
    ServeCrl(kCaCrlUrl, ca_, {});
  }

  TestCert IssueLeaf(const std::string& cn, bool ocsp = true, bool crl = true) {
    CertSpec spec = CertSpec::Leaf({{"C", "VN"}, {"CN", cn}});
    if (ocsp) spec.ocsp_url = kOcspUrl;
    if (crl) spec.crl_url = kCaCrlUrl;
    return pki_.Issue(ca_, spec);
  }

  // A response built at fetch time, relative to the fake clock.
  void ServeOcsp(const TestCert& signer, std::function<void(OcspResponseSpec*)> tweak = {}) {
    fetcher_.ocsp[kOcspUrl] = [this, signer, tweak](const std::string& req) {
      OcspResponseSpec spec;
      spec.this_update = clock_.Now() - absl::Minutes(1);
      spec.next_update = clock_.Now() + absl::Hours(1);
      spec.revoked_at = clock_.Now() - absl::Hours(2);
      if (tweak) tweak(&spec);
      return absl::StatusOr<std::string>(MakeOcspResponse(req, signer, spec));
    };
  }

  void ServeCrl(const std::string& url, const TestCert& issuer, std::vector<uint64_t> revoked,
                absl::Duration next = absl::Hours(24)) {
    fetcher_.crl[url] = [this, issuer, revoked, next]() {
      auto crl = pki_.Crl(issuer, revoked, clock_.Now() - absl::Hours(1), clock_.Now() + next);
      return absl::StatusOr<std::string>(TestPki::CrlDer(crl.get()));
    };
  }

  ValidatedPath Path(const TestCert& leaf) const {
    return ValidatedPath{{leaf.cert, ca_.cert, root_.cert}};
  }

  absl::StatusOr<RevocationStatus> Check(const TestCert& leaf,
                                         RevocationPolicy policy = RevocationPolicy::kFailClosed) {
    return checker_.CheckPath(Path(leaf), clock_.Now(), policy);
  }

  // A delegated OCSP responder certificate issued by `issuer`.
  TestCert Responder(const TestCert& issuer, bool ocsp_signing_eku) {
    CertSpec spec = CertSpec::Leaf({{"C", "VN"}, {"CN", "OCSP Responder (TEST)"}});
    spec.key_usage = testing::kDigitalSignature;
    if (ocsp_signing_eku) spec.extended_key_usage = {"OCSPSigning"};
    spec.ocsp_no_check = true;
    return pki_.Issue(issuer, spec);
  }

  TestPki pki_;
  TestCert root_, ca_, leaf_;
  FakeClock clock_;
  FakeFetcher fetcher_;
  metrics::Registry registry_;
  RevocationConfig config_;
  OcspCrlRevocationChecker checker_{&fetcher_, &clock_, config_, &registry_};

  double Counter(const std::string& name, const std::vector<std::string>& labels) {
    return registry_.Counter(name, "", {}).Labels(labels).Value();
  }
};

void ExpectUnknownFailClosed(const absl::StatusOr<RevocationStatus>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOCATION_UNKNOWN");
  auto info = status::GetErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->field, "certificate");
  EXPECT_FALSE(info->message_vi.empty());
  EXPECT_FALSE(info->message_en.empty());
}

// ---- OCSP ----

TEST_F(RevocationTest, OcspGoodSignedByIssuer) {
  ServeOcsp(ca_);
  std::string sent;
  auto handler = fetcher_.ocsp[kOcspUrl];
  fetcher_.ocsp[kOcspUrl] = [&sent, handler](const std::string& req) {
    sent = req;
    return handler(req);
  };
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kGood);
  EXPECT_EQ(r->source, "ocsp");
  EXPECT_FALSE(r->from_cache);
  EXPECT_EQ(r->this_update,
            absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now() - absl::Minutes(1))));
  EXPECT_EQ(r->next_update,
            absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now() + absl::Hours(1))));
  EXPECT_EQ(r->revoked_at, absl::InfinitePast());
  // Per certificate: leaf by OCSP, the CA by the root's CRL.
  ASSERT_EQ(r->chain.size(), 2u);
  EXPECT_EQ(r->chain[0].source, "ocsp");
  EXPECT_EQ(r->chain[1].state, State::kGood);
  EXPECT_EQ(r->chain[1].source, "crl");
  // The request: one SHA-1 CertID for the leaf's serial, with a nonce; the CA's CRL was not
  // needed.
  testing::ParsedOcspRequest parsed = ParseOcspRequest(sent);
  EXPECT_EQ(parsed.requests, 1);
  EXPECT_EQ(parsed.hash_nid, NID_sha1);
  EXPECT_EQ(parsed.serial, SerialOf(leaf_.get()));
  EXPECT_GE(parsed.nonce.size(), 16u);
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 0);
  EXPECT_EQ(fetcher_.last_timeout, absl::Seconds(3));
}

TEST_F(RevocationTest, NoncesDifferPerRequest) {
  std::vector<std::string> nonces;
  fetcher_.ocsp[kOcspUrl] = [&](const std::string& req) -> absl::StatusOr<std::string> {
    nonces.push_back(ParseOcspRequest(req).nonce);
    return absl::UnavailableError("down");
  };
  Check(leaf_).IgnoreError();
  Check(leaf_).IgnoreError();
  ASSERT_EQ(nonces.size(), 2u);
  EXPECT_NE(nonces[0], nonces[1]);
}

TEST_F(RevocationTest, OcspRevokedIsCertRevokedWithDate) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->status = OcspResponseSpec::CertStatus::kRevoked;
    s->revoked_at = absl::FromUnixSeconds(1700000000);  // 2023-11-14 22:13:20 UTC
    s->reason = 1;                                      // keyCompromise
  });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED");
  auto info = status::GetErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->field, "certificate");
  EXPECT_TRUE(absl::StrContains(info->message_en, "2023-11-14 22:13 UTC")) << info->message_en;
  EXPECT_TRUE(absl::StrContains(info->message_vi, "2023-11-14 22:13 UTC")) << info->message_vi;
  EXPECT_FALSE(absl::StrContains(info->message_en, "Nguy"));
  EXPECT_EQ(info->metadata["revoked_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(info->metadata["reason"], "1");
  EXPECT_EQ(info->metadata["depth"], "0");
  // A revoked OCSP answer is definitive: no CRL fallback.
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 0);
}

TEST_F(RevocationTest, OcspUnknownFallsBackToCrl) {
  ServeOcsp(ca_, [](OcspResponseSpec* s) { s->status = OcspResponseSpec::CertStatus::kUnknown; });
  ServeCrl(kCaCrlUrl, ca_, {SerialOf(leaf_.get())});
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED");
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 1);
}

TEST_F(RevocationTest, OcspUnknownWithoutCrlIsUnknown) {
  TestCert leaf = IssueLeaf("Only OCSP", /*ocsp=*/true, /*crl=*/false);
  ServeOcsp(ca_, [](OcspResponseSpec* s) { s->status = OcspResponseSpec::CertStatus::kUnknown; });
  ExpectUnknownFailClosed(Check(leaf));
  absl::StatusOr<RevocationStatus> open = Check(leaf, RevocationPolicy::kFailOpen);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->state, State::kUnknown);
  EXPECT_EQ(open->source, "");
}

TEST_F(RevocationTest, DelegatedResponderWithOcspSigningIsAccepted) {
  TestCert responder = Responder(ca_, /*ocsp_signing_eku=*/true);
  ServeOcsp(responder);
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kGood);
  EXPECT_EQ(r->source, "ocsp");

  // Also with a byKey responder id.
  TestCert leaf2 = IssueLeaf("Second");
  ServeOcsp(responder, [](OcspResponseSpec* s) { s->responder_id_by_key = true; });
  r = Check(leaf2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "ocsp");

  // And a revoked answer from the delegated responder is believed.
  TestCert leaf3 = IssueLeaf("Third");
  ServeOcsp(responder,
            [](OcspResponseSpec* s) { s->status = OcspResponseSpec::CertStatus::kRevoked; });
  EXPECT_EQ(status::ReasonOf(Check(leaf3).status()), "CERT_REVOKED");
}

TEST_F(RevocationTest, DelegatedResponderWithoutOcspSigningIsRejected) {
  TestCert responder = Responder(ca_, /*ocsp_signing_eku=*/false);
  // It claims "revoked": if it were believed, the result would be CERT_REVOKED.
  ServeOcsp(responder,
            [](OcspResponseSpec* s) { s->status = OcspResponseSpec::CertStatus::kRevoked; });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "crl");  // fell back to the CA's (empty) CRL
  EXPECT_EQ(r->state, State::kGood);
  EXPECT_EQ(Counter("sigverify_revocation_rejected_total", {"ocsp"}), 1);
}

TEST_F(RevocationTest, ResponderWithOcspSigningFromAnotherIssuerIsRejected) {
  // Issued by the root (trusted elsewhere in the path), not by the leaf's issuer.
  TestCert responder = Responder(root_, /*ocsp_signing_eku=*/true);
  ServeOcsp(responder, [&](OcspResponseSpec* s) {
    s->status = OcspResponseSpec::CertStatus::kRevoked;
    s->extra_certs = {root_.cert};
  });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "crl");
}

TEST_F(RevocationTest, ResponseSignedByUnrelatedKeyIsRejected) {
  // Same subject name as the CA, another key: a forged "good".
  CertSpec rogue_spec =
      CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", "Revocation Test CA"}}, 0);
  TestCert rogue = pki_.Root(rogue_spec);
  ServeOcsp(rogue);
  ServeCrl(kCaCrlUrl, ca_, {SerialOf(leaf_.get())});  // the truth: revoked
  EXPECT_EQ(status::ReasonOf(Check(leaf_).status()), "CERT_REVOKED");

  // Without the signer certificate in the response (byName = the CA's name) as well.
  TestCert leaf2 = IssueLeaf("Second");
  ServeOcsp(rogue, [](OcspResponseSpec* s) { s->include_signer_cert = false; });
  absl::StatusOr<RevocationStatus> r = Check(leaf2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "crl");  // the (cached) CA CRL, not the forged OCSP answer
  EXPECT_EQ(Counter("sigverify_revocation_rejected_total", {"ocsp"}), 2);
}

TEST_F(RevocationTest, ResponseSignedByTheRootForTheLeafIsRejected) {
  ServeOcsp(root_);
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, StaleResponseIsNotEstablished) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->this_update = clock_.Now() - absl::Hours(3);
    s->next_update = clock_.Now() - absl::Minutes(10);  // beyond the 5-minute skew
  });
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
  EXPECT_EQ(checker_.OcspCacheSize(), 0u);
}

TEST_F(RevocationTest, NextUpdateWithinSkewIsAccepted) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->this_update = clock_.Now() - absl::Hours(3);
    s->next_update = clock_.Now() - absl::Minutes(2);
  });
  fetcher_.crl.erase(kCaCrlUrl);
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "ocsp");
  EXPECT_EQ(checker_.OcspCacheSize(), 0u);  // already past nextUpdate: not cached
}

TEST_F(RevocationTest, ThisUpdateInTheFutureIsRejected) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->this_update = clock_.Now() + absl::Minutes(10);
    s->next_update = clock_.Now() + absl::Hours(2);
  });
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, ResponseWithoutNextUpdateMustBeRecent) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->next_update = absl::InfinitePast();
    s->this_update = clock_.Now() - absl::Hours(2);
  });
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));

  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->next_update = absl::InfinitePast();
    s->this_update = clock_.Now() - absl::Minutes(2);
  });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->next_update, absl::InfinitePast());
  // Cached for the configured hour only.
  fetcher_.ocsp.erase(kOcspUrl);
  clock_.Advance(absl::Minutes(59));
  ASSERT_TRUE(Check(leaf_).ok());
  clock_.Advance(absl::Minutes(2));
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, NonceMismatchIsRejected) {
  ServeOcsp(ca_, [](OcspResponseSpec* s) {
    s->nonce = OcspResponseSpec::Nonce::kWrong;
    s->status = OcspResponseSpec::CertStatus::kRevoked;
  });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "crl");
}

TEST_F(RevocationTest, ResponseWithoutNonceIsAccepted) {
  ServeOcsp(ca_, [](OcspResponseSpec* s) { s->nonce = OcspResponseSpec::Nonce::kOmit; });
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "ocsp");
}

TEST_F(RevocationTest, ResponseForAnotherCertificateIsRejected) {
  TestCert other = IssueLeaf("Other");
  ServeOcsp(ca_, [&](OcspResponseSpec* s) {
    s->answer_for_cert = other.get();
    s->answer_for_issuer = ca_.get();
  });
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, GarbageAndErrorResponsesAreNotEstablished) {
  fetcher_.crl.erase(kCaCrlUrl);
  fetcher_.ocsp[kOcspUrl] = [](const std::string&) {
    return absl::StatusOr<std::string>(std::string("\x30\x03garbage", 9));
  };
  ExpectUnknownFailClosed(Check(leaf_));
  fetcher_.ocsp[kOcspUrl] = [](const std::string&) {
    return absl::StatusOr<std::string>(MakeOcspErrorResponse(OCSP_RESPONSE_STATUS_TRYLATER));
  };
  ExpectUnknownFailClosed(Check(leaf_));
  fetcher_.ocsp[kOcspUrl] = [](const std::string&) {
    return absl::StatusOr<std::string>(std::string());
  };
  ExpectUnknownFailClosed(Check(leaf_));
  // Truncated valid response.
  ServeOcsp(ca_);
  auto good = fetcher_.ocsp[kOcspUrl];
  fetcher_.ocsp[kOcspUrl] = [good](const std::string& req) -> absl::StatusOr<std::string> {
    std::string der = *good(req);
    return der.substr(0, der.size() / 2);
  };
  ExpectUnknownFailClosed(Check(leaf_));
  // A garbage CRL too.
  fetcher_.crl[kCaCrlUrl] = [] { return absl::StatusOr<std::string>(std::string("not a crl")); };
  ExpectUnknownFailClosed(Check(leaf_));
  EXPECT_EQ(checker_.OcspCacheSize(), 0u);
  EXPECT_EQ(checker_.CrlCacheSize(), 1u);  // only the root's CRL
}

// ---- fallback and policy ----

TEST_F(RevocationTest, ResponderDownFallsBackToCrl) {
  // No OCSP handler: "connection refused".
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kGood);
  EXPECT_EQ(r->source, "crl");
  EXPECT_GT(r->next_update, clock_.Now());
  EXPECT_EQ(Counter("sigverify_revocation_fetch_errors_total", {"ocsp"}), 1);

  TestCert revoked = IssueLeaf("Revoked");
  ServeCrl(kCaCrlUrl, ca_, {SerialOf(revoked.get())});
  clock_.Advance(absl::Hours(25));  // the cached CA CRL expired
  ServeCrl(kRootCrlUrl, root_, {});
  absl::StatusOr<RevocationStatus> rr = Check(revoked);
  EXPECT_EQ(status::ReasonOf(rr.status()), "CERT_REVOKED");
}

TEST_F(RevocationTest, BothDownFailClosedAndFailOpen) {
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
  absl::StatusOr<RevocationStatus> r = Check(leaf_, RevocationPolicy::kFailOpen);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kUnknown);
  ASSERT_EQ(r->chain.size(), 2u);
  EXPECT_EQ(r->chain[1].state, State::kGood);  // the CA was established by the root's CRL
  EXPECT_EQ(Counter("sigverify_revocation_checks_total", {"unknown_fail_closed"}), 1);
  EXPECT_EQ(Counter("sigverify_revocation_checks_total", {"unknown_fail_open"}), 1);
}

TEST_F(RevocationTest, LeafWithoutAnySourceIsUnknown) {
  TestCert leaf = IssueLeaf("No sources", false, false);
  ExpectUnknownFailClosed(Check(leaf));
  EXPECT_TRUE(fetcher_.ocsp_calls.empty());
}

TEST_F(RevocationTest, NonHttpUrlsAreIgnored) {
  CertSpec spec = CertSpec::Leaf({{"C", "VN"}, {"CN", "LDAP only"}});
  spec.crl_url = "ldap://ldap.ca.test/cn=CA?certificateRevocationList";
  spec.ocsp_url = "https://ocsp.ca.test/";
  TestCert leaf = pki_.Issue(ca_, spec);
  ExpectUnknownFailClosed(Check(leaf));
  EXPECT_TRUE(fetcher_.ocsp_calls.empty());
  EXPECT_EQ(fetcher_.crl_calls.size(), 1u);  // the root's CRL only
}

// ---- intermediates ----

TEST_F(RevocationTest, RevokedIntermediateViaRootCrl) {
  ServeOcsp(ca_);
  ServeCrl(kRootCrlUrl, root_, {SerialOf(ca_.get())});
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED");
  auto info = status::GetErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata["depth"], "1");
  EXPECT_TRUE(absl::StrContains(info->message_en, "certification authority"));
  // Checked top-down: the leaf's responder was not even asked.
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 0);
}

TEST_F(RevocationTest, IntermediateWithoutSourcesIsAccepted) {
  TestCert ca2 = pki_.Intermediate(root_, "CA without CDP");
  CertSpec spec = CertSpec::Leaf({{"C", "VN"}, {"CN", "Leaf"}});
  spec.ocsp_url = kOcspUrl;
  TestCert leaf = pki_.Issue(ca2, spec);
  ServeOcsp(ca2);
  absl::StatusOr<RevocationStatus> r =
      checker_.CheckPath(ValidatedPath{{leaf.cert, ca2.cert, root_.cert}}, clock_.Now(),
                         RevocationPolicy::kFailClosed);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kGood);
  ASSERT_EQ(r->chain.size(), 2u);
  EXPECT_EQ(r->chain[1].state, State::kUnknown);
  EXPECT_EQ(r->chain[1].source, "");
}

TEST_F(RevocationTest, IntermediateWithUnreachableSourceFailsClosed) {
  ServeOcsp(ca_);
  fetcher_.crl.erase(kRootCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
  absl::StatusOr<RevocationStatus> r = Check(leaf_, RevocationPolicy::kFailOpen);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, State::kGood);  // the leaf itself is good
  EXPECT_EQ(r->chain[1].state, State::kUnknown);
}

TEST_F(RevocationTest, AnchorOnlyPathAndEmptyPath) {
  absl::StatusOr<RevocationStatus> r =
      checker_.CheckPath(ValidatedPath{{root_.cert}}, clock_.Now(), RevocationPolicy::kFailClosed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source, "anchor");
  EXPECT_EQ(status::ReasonOf(
                checker_.CheckPath(ValidatedPath{}, clock_.Now(), RevocationPolicy::kFailClosed)
                    .status()),
            "CERT_CHAIN_INCOMPLETE");
}

// ---- CRL checks ----

TEST_F(RevocationTest, CrlRevokedWithReasonAndDate) {
  // A CRL entry with a reason code.
  auto crl = pki_.Crl(ca_, {SerialOf(leaf_.get())}, clock_.Now() - absl::Hours(1),
                      clock_.Now() + absl::Hours(24));
  X509_REVOKED* rev = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl.get()), 0);
  ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
  ASN1_ENUMERATED_set(reason, 4);  // superseded
  X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0);
  ASN1_ENUMERATED_free(reason);
  X509_CRL_sign(crl.get(), ca_.key.get(), EVP_sha256());
  std::string der = TestPki::CrlDer(crl.get());
  fetcher_.crl[kCaCrlUrl] = [der] { return absl::StatusOr<std::string>(der); };
  absl::StatusOr<RevocationStatus> r = Check(leaf_);
  ASSERT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED");
  auto info = status::GetErrorInfo(r.status());
  EXPECT_EQ(info->metadata["reason"], "4");
  EXPECT_EQ(
      info->metadata["revoked_at"],
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now() - absl::Hours(1), absl::UTCTimeZone()));
}

TEST_F(RevocationTest, PemCrlIsAccepted) {
  auto crl = pki_.Crl(ca_, {SerialOf(leaf_.get())}, clock_.Now() - absl::Hours(1),
                      clock_.Now() + absl::Hours(24));
  std::string pem = PemOf(crl.get());
  fetcher_.crl[kCaCrlUrl] = [pem] { return absl::StatusOr<std::string>("\n" + pem); };
  EXPECT_EQ(status::ReasonOf(Check(leaf_).status()), "CERT_REVOKED");
}

TEST_F(RevocationTest, CrlSignedByAnotherKeyIsRejected) {
  CertSpec rogue_spec =
      CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", "Revocation Test CA"}}, 0);
  TestCert rogue = pki_.Root(rogue_spec);  // same name as the CA, other key
  ServeCrl(kCaCrlUrl, rogue, {});
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, CrlFromAnotherIssuerNameIsRejected) {
  ServeCrl(kCaCrlUrl, root_, {});  // signed by the root: name (and key) differ from the CA
  ExpectUnknownFailClosed(Check(leaf_));
  // The CA's key but the root's name: the signature verifies, the name does not match.
  TestCert misnamed{root_.cert, ca_.key};
  ServeCrl(kCaCrlUrl, misnamed, {});
  ExpectUnknownFailClosed(Check(leaf_));
  EXPECT_EQ(Counter("sigverify_revocation_rejected_total", {"crl"}), 2);
}

TEST_F(RevocationTest, StaleOrFutureCrlIsRejected) {
  ServeCrl(kCaCrlUrl, ca_, {}, /*next=*/-absl::Minutes(1));
  ExpectUnknownFailClosed(Check(leaf_));
  fetcher_.crl[kCaCrlUrl] = [this] {
    auto crl = pki_.Crl(ca_, {}, clock_.Now() + absl::Hours(1), clock_.Now() + absl::Hours(24));
    return absl::StatusOr<std::string>(TestPki::CrlDer(crl.get()));
  };
  ExpectUnknownFailClosed(Check(leaf_));
}

TEST_F(RevocationTest, DeltaCrlIsNotSupported) {
  auto crl = pki_.Crl(ca_, {}, clock_.Now() - absl::Hours(1), clock_.Now() + absl::Hours(24));
  ASN1_INTEGER* base = ASN1_INTEGER_new();
  ASN1_INTEGER_set(base, 7);
  X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base, 1, 0);
  ASN1_INTEGER_free(base);
  X509_CRL_sign(crl.get(), ca_.key.get(), EVP_sha256());
  std::string der = TestPki::CrlDer(crl.get());
  fetcher_.crl[kCaCrlUrl] = [der] { return absl::StatusOr<std::string>(der); };
  ExpectUnknownFailClosed(Check(leaf_));
}

// ---- cache ----

TEST_F(RevocationTest, OcspCachedUntilNextUpdateThenRefetched) {
  ServeOcsp(ca_);
  ASSERT_TRUE(Check(leaf_).ok());
  absl::StatusOr<RevocationStatus> second = Check(leaf_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->source, "ocsp");
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 1);
  EXPECT_EQ(Counter("sigverify_revocation_cache_total", {"ocsp", "hit"}), 1);
  EXPECT_EQ(Counter("sigverify_revocation_cache_total", {"ocsp", "miss"}), 1);

  clock_.Advance(absl::Minutes(59));
  ASSERT_TRUE(Check(leaf_).ok());
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 1);

  clock_.Advance(absl::Minutes(2));  // past nextUpdate
  absl::StatusOr<RevocationStatus> third = Check(leaf_);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->from_cache);
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 2);
}

TEST_F(RevocationTest, RevokedAnswerIsCached) {
  ServeOcsp(ca_, [](OcspResponseSpec* s) { s->status = OcspResponseSpec::CertStatus::kRevoked; });
  EXPECT_EQ(status::ReasonOf(Check(leaf_).status()), "CERT_REVOKED");
  fetcher_.ocsp.erase(kOcspUrl);
  EXPECT_EQ(status::ReasonOf(Check(leaf_).status()), "CERT_REVOKED");
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 1);
}

TEST_F(RevocationTest, FailuresAreNotCached) {
  fetcher_.crl.erase(kCaCrlUrl);
  ExpectUnknownFailClosed(Check(leaf_));
  ServeOcsp(ca_);
  ASSERT_TRUE(Check(leaf_).ok());
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 2);
}

TEST_F(RevocationTest, CrlCachedPerUrl) {
  TestCert a = IssueLeaf("A", /*ocsp=*/false);
  TestCert b = IssueLeaf("B", /*ocsp=*/false);
  ServeCrl(kCaCrlUrl, ca_, {SerialOf(b.get())});
  absl::StatusOr<RevocationStatus> ra = Check(a);
  ASSERT_TRUE(ra.ok());
  EXPECT_FALSE(ra->from_cache);
  EXPECT_EQ(status::ReasonOf(Check(b).status()), "CERT_REVOKED");
  absl::StatusOr<RevocationStatus> ra2 = Check(a);
  ASSERT_TRUE(ra2.ok());
  EXPECT_TRUE(ra2->from_cache);
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 1);
  EXPECT_EQ(fetcher_.crl_calls[kRootCrlUrl], 1);
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  ASSERT_TRUE(Check(a).ok());
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 2);
}

TEST_F(RevocationTest, CacheIsBounded) {
  RevocationConfig config;
  config.max_ocsp_cache_entries = 2;
  OcspCrlRevocationChecker checker(&fetcher_, &clock_, config);
  ServeOcsp(ca_);
  TestCert a = IssueLeaf("A"), b = IssueLeaf("B"), c = IssueLeaf("C");
  auto check = [&](const TestCert& leaf) {
    return checker.CheckPath(Path(leaf), clock_.Now(), RevocationPolicy::kFailClosed);
  };
  ASSERT_TRUE(check(a).ok());
  ASSERT_TRUE(check(b).ok());
  ASSERT_TRUE(check(a).ok());  // a is now the most recent
  ASSERT_TRUE(check(c).ok());  // evicts b
  EXPECT_EQ(checker.OcspCacheSize(), 2u);
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 3);
  EXPECT_TRUE(check(a)->from_cache);
  EXPECT_FALSE(check(b)->from_cache);
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 4);
}

// sigverify --revocation_cache=false sets both capacities to 0: every check fetches again.
TEST_F(RevocationTest, ZeroCapacityDisablesTheCache) {
  RevocationConfig config;
  config.max_ocsp_cache_entries = 0;
  config.max_crl_cache_entries = 0;
  OcspCrlRevocationChecker checker(&fetcher_, &clock_, config);
  ServeOcsp(ca_);
  TestCert crl_only = IssueLeaf("C", /*ocsp=*/false);
  ServeCrl(kCaCrlUrl, ca_, {});
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RevocationStatus> r =
        checker.CheckPath(Path(leaf_), clock_.Now(), RevocationPolicy::kFailClosed);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->from_cache);
    absl::StatusOr<RevocationStatus> c =
        checker.CheckPath(Path(crl_only), clock_.Now(), RevocationPolicy::kFailClosed);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->from_cache);
  }
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 3);
  EXPECT_EQ(fetcher_.crl_calls[kCaCrlUrl], 3);
  EXPECT_EQ(checker.OcspCacheSize(), 0u);
  EXPECT_EQ(checker.CrlCacheSize(), 0u);
}

TEST_F(RevocationTest, MaxCacheLifetimeCapsNextUpdate) {
  ServeOcsp(ca_, [&](OcspResponseSpec* s) { s->next_update = clock_.Now() + absl::Hours(72); });
  ASSERT_TRUE(Check(leaf_).ok());
  clock_.Advance(absl::Hours(23));
  ASSERT_TRUE(Check(leaf_).ok());
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 1);
  clock_.Advance(absl::Hours(2));
  ServeCrl(kRootCrlUrl, root_, {});
  ASSERT_TRUE(Check(leaf_).ok());
  EXPECT_EQ(fetcher_.ocsp_calls[kOcspUrl], 2);
}

TEST_F(RevocationTest, ConcurrentChecksAreSafe) {
  ServeOcsp(ca_);
  std::vector<TestCert> leaves;
  for (int i = 0; i < 4; ++i) leaves.push_back(IssueLeaf("L" + std::to_string(i)));
  // The fake fetcher's maps are only read; its call counters are not thread-safe, so use a
  // checker with its own locked fetcher wrapper.
  class LockedFetcher final : public RevocationFetcher {
   public:
    explicit LockedFetcher(RevocationFetcher* inner) : inner_(inner) {}
    absl::StatusOr<std::string> PostOcsp(const std::string& u, const std::string& r,
                                         absl::Duration t) override {
      std::lock_guard<std::mutex> l(mu_);
      return inner_->PostOcsp(u, r, t);
    }
    absl::StatusOr<std::string> GetCrl(const std::string& u, absl::Duration t) override {
      std::lock_guard<std::mutex> l(mu_);
      return inner_->GetCrl(u, t);
    }

   private:
    std::mutex mu_;
    RevocationFetcher* inner_;
  } locked(&fetcher_);
  OcspCrlRevocationChecker checker(&locked, &clock_, RevocationConfig{});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const TestCert& leaf = leaves[(t + i) % leaves.size()];
        auto r = checker.CheckPath(Path(leaf), clock_.Now(), RevocationPolicy::kFailClosed);
        if (r.ok() && r->state == State::kGood) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(checker.OcspCacheSize(), 4u);
}

}  // namespace
}  // namespace dvc::sigverify
