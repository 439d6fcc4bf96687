// Password-guessing throttles that an attacker cannot turn into a permanent lock-out.
//
// Two counters guard every password attempt, both keyed by the blind index of the identifier
// typed (never the identifier itself):
//   pair:<identifier>:<ip>   failures from one client address; `free_failures` free ones
//   id:<identifier>          failures from anywhere; `identifier_free_failures` free ones
// After F free failures a key's n-th further failure makes the next attempt wait
// first_delay·2^(n-1) (1 s, 2 s, 4 s …), capped at `max_delay`. A delay always ends by itself;
// a key with no failure for `forget_after` starts over. The identifier-wide delay does not
// apply to an address from which the account logged in successfully within `trusted_ip_ttl`,
// so an attacker spraying guesses from other addresses cannot lock the real user out of their
// usual network. A correct password resets the pair counter.
//
// Attempts are counted as failures when they are admitted (before the password is checked), so
// concurrent guesses cannot slip through together; a success or an attempt that got no verdict
// (the accounts service failed) gives the count back.
//
// Besides, each client address may start at most `ip_limit` logins per `ip_window`.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "services/auth/domain/ports.h"

namespace dvc::auth {

struct ThrottleOptions {
  int free_failures = 5;
  int identifier_free_failures = 20;
  absl::Duration first_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(15);
  absl::Duration forget_after = absl::Hours(24);
  absl::Duration trusted_ip_ttl = absl::Hours(24 * 30);
  int ip_limit = 300;
  absl::Duration ip_window = absl::Minutes(5);
};

// The wait imposed after `failures` failures when `free` are free: zero below `free`, then
// first·2^(failures-free) capped at `max`.
absl::Duration DelayAfter(int failures, int free, absl::Duration first, absl::Duration max);

class LoginThrottle final {
 public:
  LoginThrottle(AuthStore* store, Clock* clock, ThrottleOptions options)
      : store_(store), clock_(clock), options_(options) {}

  // Counts one login request from `ip`. RESOURCE_EXHAUSTED LOGIN_IP_LIMITED past the ceiling.
  absl::Status CheckIp(const std::string& ip);
  // Admits one password attempt (counted as a failure in advance) or answers
  // RESOURCE_EXHAUSTED LOGIN_THROTTLED with retry_after_s, writing nothing.
  absl::Status Admit(const std::string& identifier_index, const std::string& ip);
  // The password was correct: resets the pair counter, remembers the address as trusted and
  // gives back the identifier-wide failure counted at admission.
  absl::Status RecordSuccess(const std::string& identifier_index, const std::string& ip);
  // The attempt got no verdict: gives back both failures counted at admission.
  absl::Status Refund(const std::string& identifier_index, const std::string& ip);

  static std::string PairKey(const std::string& identifier_index, const std::string& ip);
  static std::string IdentifierKey(const std::string& identifier_index);

 private:
  void Forget(ThrottleState& s, absl::Time now) const;

  AuthStore* store_;
  Clock* clock_;
  ThrottleOptions options_;
};

}  // namespace dvc::auth
