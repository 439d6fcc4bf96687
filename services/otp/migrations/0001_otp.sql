-- OTP challenges: no code and no phone in clear. code_hmac = hex HMAC-SHA256(otp_hmac_key,
-- id ':' code); phone_sealed = AES-256-GCM (crypto::FieldCipher) bound to the challenge id;
-- phone_index / subject_index = blind indexes (HMAC) used for the send limits.
CREATE TABLE otp_challenges (
  id            uuid PRIMARY KEY,
  request_id    text NOT NULL,
  purpose       text NOT NULL,
  phone_sealed  text NOT NULL,
  phone_index   text NOT NULL,
  subject_index text NOT NULL DEFAULT '',
  code_hmac     text NOT NULL,
  seq           integer NOT NULL CHECK (seq >= 1),
  delivery      text NOT NULL CHECK (delivery IN ('PENDING', 'SENT', 'FAILED')),
  attempts_left integer NOT NULL CHECK (attempts_left >= 0),
  deliveries    integer NOT NULL DEFAULT 0 CHECK (deliveries >= 0),
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  resend_after  timestamptz NOT NULL,
  used_at       timestamptz,
  CONSTRAINT otp_challenges_request_id_key UNIQUE (request_id)
);
CREATE INDEX otp_challenges_expires_at_idx ON otp_challenges (expires_at);

-- One row per limit key: the row lock serialises the count-then-record of concurrent sends.
CREATE TABLE otp_send_keys (
  key text PRIMARY KEY
);

-- Sends recorded against each limit key (sliding windows). Rows of a failed delivery are removed.
CREATE TABLE otp_sends (
  key          text NOT NULL REFERENCES otp_send_keys (key) ON DELETE CASCADE,
  at           timestamptz NOT NULL,
  challenge_id uuid NOT NULL,
  seq          integer NOT NULL
);
CREATE INDEX otp_sends_key_at_idx ON otp_sends (key, at);
CREATE INDEX otp_sends_challenge_idx ON otp_sends (challenge_id, seq);

-- Delivery log: one row per code handed to the SMS gateway (no code, no phone).
CREATE TABLE otp_deliveries (
  challenge_id uuid NOT NULL,
  attempt      integer NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('SENT', 'FAILED')),
  at           timestamptz NOT NULL,
  PRIMARY KEY (challenge_id, attempt)
);
CREATE INDEX otp_deliveries_at_idx ON otp_deliveries (at);
