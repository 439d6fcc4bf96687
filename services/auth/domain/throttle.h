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
// Besides, each client address may start at most `ip_limit` logins per `ip_window` (a failed
// certificate login counts as one more), and a SIM / SmartCA subscriber may be sent at most
// `subscriber_limit` signing requests per `subscriber_window` (each one rings a real person's
// phone). An address from which the subscriber logged in within `trusted_ip_ttl` has its own
// subscriber window, so requests from elsewhere cannot keep the user out of their usual network.
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
  int subscriber_limit = 3;
  absl::Duration subscriber_window = absl::Minutes(5);
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

  // A password attempt's CheckIp and Admit as the parts of one store transaction
  // (AuthStore::AdmitPasswordAttempt); the caller adds the captcha, checked between the two.
  PasswordAdmission PasswordAdmissionFor(const std::string& identifier_index,
                                         const std::string& ip);
  // Admit's and RecordSuccess's changes, to apply together with other writes.
  ThrottleUpdate AdmitUpdate(const std::string& identifier_index, const std::string& ip);
  ThrottleUpdate SuccessUpdate(const std::string& identifier_index, const std::string& ip);

  // Admits one password attempt (counted as a failure in advance) or answers
  // RESOURCE_EXHAUSTED LOGIN_THROTTLED with retry_after_s, writing nothing.
  absl::Status Admit(const std::string& identifier_index, const std::string& ip);
  // The password was correct: resets the pair counter, remembers the address as trusted and
  // gives back the identifier-wide failure counted at admission.
  absl::Status RecordSuccess(const std::string& identifier_index, const std::string& ip);
  // The attempt got no verdict: gives back both failures counted at admission.
  absl::Status Refund(const std::string& identifier_index, const std::string& ip);

  // A failed certificate login: one more request in `ip`'s window (no answer of its own; the
  // next CheckIp sees it).
  absl::Status RecordIpFailure(const std::string& ip);
  // Counts one remote-signature request to the subscriber (blind index) made from `ip`.
  // RESOURCE_EXHAUSTED LOGIN_SUBSCRIBER_LIMITED (retry_after_s) past the limit.
  absl::Status CheckSubscriber(const std::string& subscriber_index, const std::string& ip);
  // The subscriber signed in from `ip`: the address gets its own subscriber window.
  absl::Status RecordSubscriberSuccess(const std::string& subscriber_index, const std::string& ip);

  static std::string PairKey(const std::string& identifier_index, const std::string& ip);
  static std::string IdentifierKey(const std::string& identifier_index);
  static std::string SubscriberTrustKey(const std::string& subscriber_index, const std::string& ip);

 private:
  void Forget(ThrottleState& s, absl::Time now) const;
  // The start and end of the fixed window of length `window` holding `now`.
  static void WindowAt(absl::Time now, absl::Duration window, absl::Time* start, absl::Time* end);
  // Increments `key`'s fixed window of length `window`; the count and the window's end.
  absl::StatusOr<int> CountInWindow(const std::string& key, absl::Duration window,
                                    absl::Time* window_end);
  // LOGIN_IP_LIMITED when `count` requests in the window ending at `end` are too many.
  absl::Status IpVerdict(int count, absl::Time end, absl::Time now) const;

  AuthStore* store_;
  Clock* clock_;
  ThrottleOptions options_;
};

}  // namespace dvc::auth
