// The trust store: the root certificates (trust anchors) signature verification will build
// certificate paths to. Loaded at start-up from PEM files with OpenSSL; immutable afterwards.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dvc::sigverify {

struct TrustAnchor {
  std::string fingerprint_sha256;  // lower-case hex of the DER
  std::string subject;             // RFC 2253, UTF-8 kept as is
  absl::Time not_after;
  std::string der;
  std::string source;              // file it was read from
};

// Every certificate in PEM text `pem` (blocks of other types, e.g. keys, and text between
// blocks are skipped). INVALID_ARGUMENT TRUST_STORE_INVALID if a CERTIFICATE block is corrupt.
absl::StatusOr<std::vector<TrustAnchor>> ParsePemCertificates(absl::string_view pem,
                                                              absl::string_view source);

// `spec`: comma-separated files and directories (a directory contributes its regular files,
// non-recursively, in name order; files without certificates contribute nothing). Duplicates
// (same fingerprint) are kept once. Empty spec → empty store.
// Errors: INVALID_ARGUMENT TRUST_STORE_INVALID (unreadable path, corrupt certificate).
absl::StatusOr<std::vector<TrustAnchor>> LoadTrustStore(absl::string_view spec);

// Persistence port: records which anchors this instance loaded (for operators and audits).
class TrustAnchorStore {
 public:
  virtual ~TrustAnchorStore() = default;
  virtual absl::Status RecordLoaded(const std::vector<TrustAnchor>& anchors,
                                    absl::Time loaded_at) = 0;
};

struct TrustStoreInfo {
  int anchors = 0;
  std::vector<std::string> subjects;  // in load order
};

class TrustStore final {
 public:
  explicit TrustStore(std::vector<TrustAnchor> anchors) : anchors_(std::move(anchors)) {}
  TrustStoreInfo Info() const;
  const std::vector<TrustAnchor>& anchors() const { return anchors_; }

 private:
  const std::vector<TrustAnchor> anchors_;
};

}  // namespace dvc::sigverify
