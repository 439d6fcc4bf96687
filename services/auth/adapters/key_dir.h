// Token signing keys from a directory of unencrypted PKCS#8 PEM files, one key per file named
// "<kid>.pem". The newest file (modification time, then name) signs; every file verifies and
// is published in the JWKS. Rotation: drop a new file in (write it elsewhere, then rename it
// into the directory) and the next Reload() picks it up; remove an old file once the tokens it
// signed have expired (access-token TTL).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/crypto/random.h"
#include "services/auth/domain/keys.h"

namespace dvc::auth {

class KeyDirectory final : public KeySource {
 public:
  // Loads `dir`. When it does not exist it is created (mode 0700); when it holds no key a
  // first one is generated (mode 0600). Fails when any *.pem file is unreadable or invalid.
  static absl::StatusOr<std::unique_ptr<KeyDirectory>> Open(const std::string& dir,
                                                            crypto::Random* random);

  std::shared_ptr<const KeySet> Keys() override;
  // Re-reads the directory and swaps the snapshot when the set of files changed. On error the
  // previous snapshot stays in use and the error is returned.
  absl::Status Reload();

  // Writes a fresh key as "<dir>/<kid>.pem" atomically (temp file + rename); returns the kid.
  static absl::StatusOr<std::string> GenerateKeyFile(const std::string& dir, absl::Time now,
                                                     crypto::Random* random);

 private:
  explicit KeyDirectory(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  absl::Mutex mu_;
  std::shared_ptr<const KeySet> keys_ ABSL_GUARDED_BY(mu_);
  std::string fingerprint_ ABSL_GUARDED_BY(mu_);  // names + mtimes + sizes of the files
};

}  // namespace dvc::auth
