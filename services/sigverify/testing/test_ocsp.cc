#include "services/sigverify/testing/test_ocsp.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace dvc::sigverify::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "test_ocsp: %s: %s\n", what, ERR_error_string(ERR_get_error(), nullptr));
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Die(what);
}

OCSP_REQUEST* ParseRequest(absl::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size()));
  Check(req != nullptr, "d2i_OCSP_REQUEST");
  return req;
}

std::string ToDer(OCSP_RESPONSE* resp) {
  unsigned char* buf = nullptr;
  int n = i2d_OCSP_RESPONSE(resp, &buf);
  Check(n > 0, "i2d_OCSP_RESPONSE");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

int StatusCode(OcspResponseSpec::CertStatus s) {
  switch (s) {
    case OcspResponseSpec::CertStatus::kGood:
      return V_OCSP_CERTSTATUS_GOOD;
    case OcspResponseSpec::CertStatus::kRevoked:
      return V_OCSP_CERTSTATUS_REVOKED;
    case OcspResponseSpec::CertStatus::kUnknown:
      return V_OCSP_CERTSTATUS_UNKNOWN;
  }
  return V_OCSP_CERTSTATUS_UNKNOWN;
}

}  // namespace

std::string MakeOcspResponse(absl::string_view der_request, const TestCert& signer,
                             const OcspResponseSpec& spec) {
  OCSP_REQUEST* req = ParseRequest(der_request);
  OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
  Check(bs != nullptr, "OCSP_BASICRESP_new");

  ASN1_TIME* this_update = ASN1_TIME_set(nullptr, absl::ToTimeT(spec.this_update));
  ASN1_TIME* next_update = spec.next_update == absl::InfinitePast()
                               ? nullptr
                               : ASN1_TIME_set(nullptr, absl::ToTimeT(spec.next_update));
  ASN1_TIME* revoked_at = spec.status == OcspResponseSpec::CertStatus::kRevoked
                              ? ASN1_TIME_set(nullptr, absl::ToTimeT(spec.revoked_at))
                              : nullptr;

  std::vector<OCSP_CERTID*> ids;
  std::vector<OCSP_CERTID*> owned;
  if (spec.answer_for_cert != nullptr) {
    OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), spec.answer_for_cert, spec.answer_for_issuer);
    Check(id != nullptr, "OCSP_cert_to_id");
    ids.push_back(id);
    owned.push_back(id);
  } else {
    for (int i = 0; i < OCSP_request_onereq_count(req); ++i) {
      ids.push_back(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)));
    }
  }
  for (OCSP_CERTID* id : ids) {
    Check(OCSP_basic_add1_status(bs, id, StatusCode(spec.status), spec.reason, revoked_at,
                                 this_update, next_update) != nullptr,
          "OCSP_basic_add1_status");
  }
  switch (spec.nonce) {
    case OcspResponseSpec::Nonce::kEcho:
      Check(OCSP_copy_nonce(bs, req) > 0, "OCSP_copy_nonce");
      break;
    case OcspResponseSpec::Nonce::kWrong:
      Check(OCSP_basic_add1_nonce(bs, nullptr, -1) == 1, "OCSP_basic_add1_nonce");
      break;
    case OcspResponseSpec::Nonce::kOmit:
      break;
  }

  STACK_OF(X509)* extra = sk_X509_new_null();
  for (const X509Ptr& c : spec.extra_certs) sk_X509_push(extra, c.get());
  unsigned long flags = 0;
  if (!spec.include_signer_cert) flags |= OCSP_NOCERTS;
  if (spec.responder_id_by_key) flags |= OCSP_RESPID_KEY;
  Check(OCSP_basic_sign(bs, signer.cert.get(), signer.key.get(), EVP_sha256(),
                        sk_X509_num(extra) > 0 ? extra : nullptr, flags) == 1,
        "OCSP_basic_sign");
  sk_X509_free(extra);

  OCSP_RESPONSE* resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
  Check(resp != nullptr, "OCSP_response_create");
  std::string der = ToDer(resp);

  OCSP_RESPONSE_free(resp);
  for (OCSP_CERTID* id : owned) OCSP_CERTID_free(id);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(revoked_at);
  OCSP_BASICRESP_free(bs);
  OCSP_REQUEST_free(req);
  return der;
}

std::string MakeOcspErrorResponse(int response_status) {
  OCSP_RESPONSE* resp = OCSP_response_create(response_status, nullptr);
  Check(resp != nullptr, "OCSP_response_create");
  std::string der = ToDer(resp);
  OCSP_RESPONSE_free(resp);
  return der;
}

ParsedOcspRequest ParseOcspRequest(absl::string_view der_request) {
  OCSP_REQUEST* req = ParseRequest(der_request);
  ParsedOcspRequest out;
  out.requests = OCSP_request_onereq_count(req);
  if (out.requests > 0) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
    ASN1_OBJECT* md = nullptr;
    ASN1_INTEGER* serial = nullptr;
    Check(OCSP_id_get0_info(nullptr, &md, nullptr, &serial, id) == 1, "OCSP_id_get0_info");
    out.hash_nid = OBJ_obj2nid(md);
    ASN1_INTEGER_get_uint64(&out.serial, serial);
  }
  int idx = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
  if (idx >= 0) {
    ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, idx));
    out.nonce.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                     static_cast<size_t>(ASN1_STRING_length(v)));
  }
  OCSP_REQUEST_free(req);
  return out;
}

}  // namespace dvc::sigverify::testing
