// `loadgen certlogin`: USB-certificate logins (LGN-4) through auth's gRPC API, and OpenSSL's
// RSA-2048 verification rate on the same cores (certlogin.cc).
#pragma once

#include "libs/config/config.h"

namespace dvc::loadgen {

int CertLogin(config::Source& src);

}  // namespace dvc::loadgen
