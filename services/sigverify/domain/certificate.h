// Parsing of X.509 certificates as Vietnamese CAs issue them, and the identity they carry.
//
// Identity sits in the subject's UID attributes (0.9.2342.19200300.100.1.1) as "PREFIX:value",
// possibly several ("UID=MST:0100686209-199, UID=CCCD:025199009534"). Every attribute is read
// from the encoded name itself (X509_NAME entries → UTF-8), never split out of the printed
// subject, so a CN with commas or an escaped value cannot smuggle an identifier.
//
// Classification (Contract B): kind = business if any MST; else agency if any MNS; else person if
// any personal prefix (CCCD, CMND, HC, PID, PPID); else seal.
//
// Errors (InvalidArgument, field "certificate"): CERT_MALFORMED (empty, too large, not a
// certificate, trailing bytes after the DER, corrupt PEM), CERT_CHAIN_TOO_LONG,
// CERT_IDENTITY_INVALID (ValidateIdentity).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/sigverify/domain/x509_ptr.h"

namespace dvc::sigverify {

// Input limits: one certificate (DER or PEM text) and a whole chain.
inline constexpr size_t kMaxCertificateBytes = 16 * 1024;
inline constexpr size_t kMaxChainBytes = 64 * 1024;

// One UID attribute. "CCCD:001099012345" → {"CCCD", "001099012345", "CCCD:001099012345"}.
// The prefix is what precedes the first ':' (trimmed, upper-cased), the value what follows it
// (trimmed). Without ':' the prefix is "" and value == raw.
struct SubjectUid {
  std::string prefix;
  std::string value;
  std::string raw;  // the attribute value, trimmed of surrounding ASCII spaces
};

enum class SubjectKind { kPerson, kBusiness, kAgency, kSeal };

// The subject's identity, all strings UTF-8. Single-valued fields take the first attribute of
// that type in encoded order; empty when absent.
struct CertificateIdentity {
  std::vector<SubjectUid> uids;  // in encoded order
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string locality;
  std::string state;
  std::string country;
  std::string email;      // emailAddress attribute, else the first rfc822Name subjectAltName
  std::string telephone;  // telephoneNumber (2.5.4.20)
  SubjectKind kind = SubjectKind::kSeal;
  // The first UID value of each kind: CCCD, CMND, passport (HC, else PPID), MST, MNS.
  std::optional<std::string> cccd;
  std::optional<std::string> cmnd;
  std::optional<std::string> passport;
  std::optional<std::string> mst;
  std::optional<std::string> mns;
};

struct ParsedCertificate {
  X509Ptr x509;
  std::string der;
  std::string fingerprint_sha256;  // lower-case hex of SHA-256(der)
  std::string serial_hex;          // upper-case hex, no leading zeros ("0" for zero)
  std::string subject;             // RFC 2253, UTF-8 kept (not \-escaped)
  std::string issuer;              // same format
  std::string issuer_common_name;
  absl::Time not_before;
  absl::Time not_after;
  std::string key_algorithm;  // "RSA" | "EC" | OpenSSL's short name of other key types
  int key_bits = 0;
  std::string signature_algorithm;  // OpenSSL long name, e.g. "sha256WithRSAEncryption"
  CertificateIdentity identity;
};

// One certificate: DER (exactly one, no trailing bytes) or PEM text (the first CERTIFICATE
// block; other blocks before it are skipped). CERT_MALFORMED when empty, larger than
// kMaxCertificateBytes, or not a well-formed certificate.
absl::StatusOr<ParsedCertificate> ParseCertificate(absl::string_view der_or_pem);

// Several certificates, in input order: a PEM bundle (every CERTIFICATE block; other block types
// skipped) or DER certificates back to back (usually one). CERT_CHAIN_TOO_LONG when the input
// exceeds kMaxChainBytes or holds more than `max_certs` certificates; CERT_MALFORMED when empty,
// without any certificate, or when any certificate is malformed.
absl::StatusOr<std::vector<ParsedCertificate>> ParseCertificateChain(
    absl::string_view pem_or_der_list, size_t max_certs = 8);

// CERT_IDENTITY_INVALID when a UID of a known prefix holds a malformed value: CCCD (12 digits,
// province code, century digit — no date of birth is known here), CMND (9 or 12 digits), MST
// (10 digits or 10-3 branch, check digit), BHXH (10 digits), HC/PID/PPID/MNS (1–32 letters,
// digits, '.', '-'), or when two UIDs of one prefix disagree. The message names the prefix,
// never the value.
absl::Status ValidateIdentity(const CertificateIdentity& identity);

}  // namespace dvc::sigverify
