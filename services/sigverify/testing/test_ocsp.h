// In-process OCSP responses for sigverify's revocation tests (companion of test_pki.h): answers a
// real DER OCSPRequest the way a responder would, with whatever flaw a test needs (wrong signer,
// stale times, wrong nonce, answer for another certificate …). Aborts on OpenSSL failures.
//
//   OcspResponseSpec spec;
//   spec.this_update = clock.Now();
//   spec.next_update = clock.Now() + absl::Hours(1);
//   std::string der = MakeOcspResponse(der_request, /*signer=*/ca, spec);
#pragma once

#include <openssl/ocsp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify::testing {

struct OcspResponseSpec {
  enum class CertStatus { kGood, kRevoked, kUnknown };
  enum class Nonce { kEcho, kOmit, kWrong };

  CertStatus status = CertStatus::kGood;
  absl::Time this_update = absl::Now();
  absl::Time next_update = absl::Now() + absl::Hours(1);  // absl::InfinitePast(): omitted
  absl::Time revoked_at = absl::Now() - absl::Hours(1);   // kRevoked only
  int reason = -1;                                        // CRLReason, -1: none
  Nonce nonce = Nonce::kEcho;
  bool include_signer_cert = true;   // carry the signer's certificate in `certs`
  bool responder_id_by_key = false;  // ResponderID byKey instead of byName
  std::vector<X509Ptr> extra_certs;  // more certificates to carry
  // When set, answer for this certificate (issued by answer_for_issuer) instead of the request's
  // CertIDs: "a response for another certificate".
  X509* answer_for_cert = nullptr;
  X509* answer_for_issuer = nullptr;
};

// A successful OCSPResponse (DER) to `der_request`, signed with SHA-256 by `signer`.
std::string MakeOcspResponse(absl::string_view der_request, const TestCert& signer,
                             const OcspResponseSpec& spec);

// An OCSPResponse with a non-successful status (e.g. OCSP_RESPONSE_STATUS_TRYLATER), no body.
std::string MakeOcspErrorResponse(int response_status);

struct ParsedOcspRequest {
  int requests = 0;          // number of CertIDs
  int hash_nid = NID_undef;  // hash algorithm of the first CertID
  uint64_t serial = 0;       // serial of the first CertID
  std::string nonce;         // DER value of the nonce extension, empty if none
};
ParsedOcspRequest ParseOcspRequest(absl::string_view der_request);

}  // namespace dvc::sigverify::testing
