// libFuzzer target: ParseCertificate, ParseCertificateChain and ValidateIdentity on arbitrary
// bytes (DER, PEM or garbage). Besides memory and UB errors (ASan, UBSan) it checks the
// functions' contracts: only the documented reasons, and a parsed certificate re-parses from its
// own DER to the same result. Built and run by tools/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/status/errors.h"
#include "services/sigverify/domain/certificate.h"

namespace {

using dvc::sigverify::CertificateIdentity;
using dvc::sigverify::ParsedCertificate;
using dvc::sigverify::SubjectKind;

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "certificate_fuzzer: contract violated: %s\n", what);
    std::abort();
  }
}

void CheckIdentity(const CertificateIdentity& id) {
  bool any_mst = false, any_mns = false;
  for (const auto& u : id.uids) {
    any_mst |= u.prefix == "MST";
    any_mns |= u.prefix == "MNS";
    Require(u.raw.empty() || (u.raw.front() != ' ' && u.raw.back() != ' '), "raw trimmed");
  }
  Require(any_mst == id.mst.has_value(), "mst summary");
  Require(any_mns == id.mns.has_value(), "mns summary");
  if (any_mst) Require(id.kind == SubjectKind::kBusiness, "MST means business");
  if (id.uids.empty()) Require(id.kind == SubjectKind::kSeal, "no UID means seal");
  const absl::Status s = dvc::sigverify::ValidateIdentity(id);
  Require(s.ok() || dvc::status::ReasonOf(s) == "CERT_IDENTITY_INVALID", "identity reason");
}

void CheckParsed(const ParsedCertificate& c) {
  Require(c.x509 != nullptr, "x509 set");
  Require(!c.der.empty() && c.der.size() <= dvc::sigverify::kMaxCertificateBytes, "der size");
  Require(c.fingerprint_sha256.size() == 64, "fingerprint length");
  Require(!c.serial_hex.empty(), "serial");
  Require(c.serial_hex == "0" || (c.serial_hex[0] != '0' &&
                                  !(c.serial_hex[0] == '-' && c.serial_hex.size() > 1 &&
                                    c.serial_hex[1] == '0')),
          "serial without leading zeros");
  Require(c.key_bits >= 0, "key bits");
  CheckIdentity(c.identity);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<ParsedCertificate> one = dvc::sigverify::ParseCertificate(in);
  if (one.ok()) {
    CheckParsed(*one);
    // Its own DER parses again to the same certificate.
    absl::StatusOr<ParsedCertificate> again = dvc::sigverify::ParseCertificate(one->der);
    Require(again.ok(), "re-parse of own DER");
    Require(again->fingerprint_sha256 == one->fingerprint_sha256, "stable fingerprint");
    Require(again->subject == one->subject, "stable subject");
    Require(again->identity.uids.size() == one->identity.uids.size(), "stable UIDs");
  } else {
    Require(dvc::status::ReasonOf(one.status()) == "CERT_MALFORMED", "parse reason");
  }

  constexpr size_t kMaxCerts = 4;
  absl::StatusOr<std::vector<ParsedCertificate>> chain =
      dvc::sigverify::ParseCertificateChain(in, kMaxCerts);
  if (chain.ok()) {
    Require(!chain->empty() && chain->size() <= kMaxCerts, "chain size");
    for (const ParsedCertificate& c : *chain) CheckParsed(c);
  } else {
    const std::string reason = dvc::status::ReasonOf(chain.status());
    Require(reason == "CERT_MALFORMED" || reason == "CERT_CHAIN_TOO_LONG", "chain reason");
  }
  return 0;
}
