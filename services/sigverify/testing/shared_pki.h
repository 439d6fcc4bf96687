// Locates the shared PKI folder (real Vietnamese root certificates) for tests.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace dvc::sigverify::testing {

// `$DVC_SHARED_DIR/pki/real`, or `<workspace root>/../shared/pki/real` (the workspace root is
// found by resolving this package's test data back to the source tree). FAILED_PRECONDITION with
// an explanation when the folder or its *.pem files are missing.
absl::StatusOr<std::string> SharedPkiRealDir();

}  // namespace dvc::sigverify::testing
